"""The suite against apps it has never seen: each reaches a true verdict, and each fault is caught
by the right checks, naming the right cause.

Every case runs the real command (`realtime-verify run --target <the app's profile>`) against a
foreign-shaped app from tests/fixtures/apps, started on loopback, directly or behind real nginx
(with an nginx fault as an edit of its conf), and reads the summary.json it writes.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from realtime_verify.stack.proxy import NginxProxy
from tests.fixtures.apps.launch import AppName, alaunched

APPS = Path(__file__).resolve().parents[1] / "fixtures" / "apps"
# Short timers, as a team would set them for a test deployment: the heartbeat checks finish in seconds.
FAST = {"PING_INTERVAL_MS": "2000", "PING_TIMEOUT_MS": "2000", "HEARTBEAT_MS": "500"}
ACCOUNTS = {
    "RV_USER_A": "ann@example.test",
    "RV_USER_A_PASSWORD": "ann-pw",
    "RV_USER_B": "ben@example.test",
    "RV_USER_B_PASSWORD": "ben-pw",
    "RV_USER_C": "cid@example.test",
    "RV_USER_C_PASSWORD": "cid-pw",
}
SETTINGS = {"py-rooms": ["budgets.heartbeat_interval_s=0.5"], "node-chat": []}


@dataclass
class Case:
    app: AppName
    nginx_edits: tuple[str, ...] | None = None  # None: no nginx in front
    app_faults: str = ""
    env: dict[str, str] = field(default_factory=dict)
    failed: set[str] = field(default_factory=set)
    # Checks that may fail too, each for a reason that depends on the machine's load (said where used).
    may_fail: set[str] = field(default_factory=set)
    cause: tuple[str, str] | None = None  # (check, words its message must contain)


@asynccontextmanager
async def served(case: Case) -> AsyncIterator[tuple[str, Path | None]]:
    """The app (behind nginx when the case says so): its base URL and the nginx conf it runs."""
    env = {**FAST, **case.env, "APP_FAULTS": case.app_faults}
    async with alaunched(case.app, env=env) as app:
        if case.nginx_edits is None:
            yield app.base_url, None
            return
        port = int(app.base_url.rsplit(":", 1)[1])
        with tempfile.TemporaryDirectory(prefix="rv-nginx-") as folder:
            os.chmod(folder, 0o755)  # nginx workers run unprivileged when the tests run as root
            proxy = NginxProxy(APPS / "nginx-site.conf", ("127.0.0.1", port), Path(folder), edits=case.nginx_edits)
            nginx_port = await proxy.start()
            try:
                yield f"http://127.0.0.1:{nginx_port}", proxy.site_conf
            finally:
                await proxy.stop()


def run_suite(case: Case, base_url: str, nginx_conf: Path | None, output: Path) -> tuple[int, dict[str, Any], str]:
    args = ["--target", str(APPS / case.app / "profile.toml"), "--set", f"target.base_url={base_url}"]
    for item in SETTINGS[case.app]:
        args += ["--set", item]
    if case.failed:
        args += list(FOCUS)
    if nginx_conf is not None:
        args += ["--set", f"config_files.nginx={nginx_conf}"]
    command = [sys.executable, "-m", "realtime_verify.cli", "run", "--output", str(output), *args]
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=300, check=False, env={**os.environ, **ACCOUNTS}
    )
    summary = json.loads((output / "summary.json").read_text())
    return done.returncode, summary, done.stdout[-4000:] + done.stderr[-2000:]


# Faults of one layer are judged by the checks of that layer and the ones that need a page: the fault
# checks' own behaviour on these apps is proven by the healthy runs.
FOCUS = ("--check", "HS", "--check", "RT", "--check", "NGX")

CASES = {
    "node-chat": Case("node-chat"),
    "node-chat behind nginx": Case("node-chat", nginx_edits=()),
    "node-chat, nginx drops Upgrade": Case(
        "node-chat", nginx_edits=("no-upgrade",), failed={"HS-003", "RT-001", "NGX-003"}, cause=("HS-003", "Upgrade")
    ),
    "node-chat refuses the Origin": Case(
        "node-chat",
        app_faults="origin-check",
        env={"ALLOWED_ORIGIN": "https://elsewhere.example.test"},
        failed={"HS-001", "HS-003"},
        cause=("HS-003", "the app refused the Origin"),
    ),
    "node-chat does not broadcast": Case(
        "node-chat", app_faults="no-broadcast", failed={"RT-002", "RT-003"}, cause=("RT-002", "never received")
    ),
    "py-rooms": Case("py-rooms"),
    "py-rooms, nginx drops Upgrade": Case(
        "py-rooms",
        nginx_edits=("no-upgrade",),
        failed={"HS-003", "RT-001", "NGX-003"},
        # Chat over long-polling is an HTTP round trip per message: on a loaded 2-core machine its
        # render p95 can pass the 250 ms budget (measured: 336 ms with two suites running at once).
        may_fail={"RT-002"},
        cause=("RT-001", "long-polling"),
    ),
    "py-rooms refuses the Origin": Case(
        "py-rooms",
        app_faults="origin-check",
        env={"ALLOWED_ORIGIN": "https://elsewhere.example.test"},
        failed={"HS-001", "HS-003", "RT-001", "RT-002", "RT-003", "RT-004", "RT-005"},
        cause=("RT-001", "Origin"),
    ),
    "py-rooms does not emit to the room": Case(
        "py-rooms", app_faults="no-room-emit", failed={"RT-002", "RT-003"}, cause=("RT-002", "never received")
    ),
}

# What each app's healthy run must pass, and what it must skip because the app lacks it.
PASSES = {
    "node-chat": {"HS-001", "HS-003", "HS-004", "HS-005", "RT-001", "RT-002", "RT-003", "RT-005"}
    | {"FT-001", "FT-003", "FT-007"},
    "py-rooms": {"HS-001", "HS-003", "HS-004", "HS-005", "HS-007"}
    | {"RT-001", "RT-002", "RT-003", "RT-004", "RT-005", "RT-006"}
    | {"FT-001", "FT-002", "FT-003", "FT-007"},
}
SKIP_REASONS = {
    "node-chat": {
        "HS-007": "app.socket_auth",
        "RT-004": "app.items",
        "RT-006": "app.socket_auth",
        "HS-006": "Cloudflare",
        "FT-002": "app.resync",
        "FT-004": "faults.allowed",
        "SW-001": "app.service_worker",
    },
    "py-rooms": {"HS-006": "Cloudflare", "NGX-001": "config_files.nginx", "FT-004": "faults.allowed"},
}


@pytest.mark.parametrize("name", list(CASES))
async def test_foreign_app_verdict(name: str, tmp_path: Path) -> None:
    case = CASES[name]
    async with served(case) as (base_url, nginx_conf):
        code, summary, output = run_suite(case, base_url, nginx_conf, tmp_path / "reports")
    statuses = {check["check_id"]: check for check in summary["checks"]}
    failed = {check_id for check_id, check in statuses.items() if check["status"] == "failed"}
    context = f"{name}: failed {sorted(failed)}\n{output}"
    assert case.failed <= failed <= case.failed | case.may_fail, context
    assert not [c for c in statuses.values() if c["status"] in ("error", "not run")], context
    if not case.failed:
        assert code == 0, context
        assert summary["verdict"] == "PASSED", context
        passed = {check_id for check_id, check in statuses.items() if check["status"] == "passed"}
        expected = set(PASSES[case.app]) | (
            {"HS-002", "NGX-001", "NGX-002", "NGX-003", "NGX-004", "NGX-005"} if nginx_conf else set()
        )
        assert passed == expected, context
        for check_id, words in SKIP_REASONS[case.app].items():
            if check_id in passed:
                continue
            assert statuses[check_id]["status"] == "skipped", context
            assert words in statuses[check_id]["message"], f"{check_id}: {statuses[check_id]['message']}"
    else:
        assert code == 1, context
        check_id, words = case.cause or ("", "")
        assert words.lower() in statuses[check_id]["message"].lower(), f"{check_id}: {statuses[check_id]['message']}"
