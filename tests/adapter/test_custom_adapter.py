"""A team's own adapter, chosen in the profile (`[app] adapter = "module:Class"`), is the one the run uses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.fixtures.apps.launch import launched

ROOT = Path(__file__).resolve().parents[2]
PROFILE = ROOT / "tests" / "fixtures" / "apps" / "node-chat" / "profile.toml"


def test_a_custom_adapter_named_in_the_profile_runs_the_checks(tmp_path: Path) -> None:
    env = {"PING_INTERVAL_MS": "2000", "PING_TIMEOUT_MS": "2000"}
    with launched("node-chat", env=env) as app:
        done = subprocess.run(
            [
                *(sys.executable, "-m", "realtime_verify.cli", "run", "--output", str(tmp_path)),
                *("--target", str(PROFILE), "--set", f"target.base_url={app.base_url}"),
                *("--set", "app.adapter=examples.adapter.node_chat:NodeChatAdapter", "--check", "RT"),
            ],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert done.returncode == 0, done.stdout[-3000:]
    assert summary["verdict"] == "PASSED"
    assert "app.adapter = 'examples.adapter.node_chat:NodeChatAdapter'" in "\n".join(summary["settings"])
    statuses = {check["check_id"]: check["status"] for check in summary["checks"]}
    assert statuses["RT-002"] == "passed"


def test_an_adapter_that_cannot_be_imported_is_one_line_and_exit_2(tmp_path: Path) -> None:
    with launched("node-chat") as app:
        done = subprocess.run(
            [
                *(sys.executable, "-m", "realtime_verify.cli", "run", "--output", str(tmp_path)),
                *("--target", str(PROFILE), "--set", f"target.base_url={app.base_url}"),
                *("--set", "app.adapter=examples.adapter.nowhere:Adapter", "--check", "RT-002"),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
    output = done.stdout + done.stderr
    assert done.returncode == 2, output[-3000:]
    assert "app.adapter 'examples.adapter.nowhere:Adapter': cannot import 'examples.adapter.nowhere'" in output
    assert "Traceback" not in output
