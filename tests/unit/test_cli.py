"""The `realtime-verify` command: serve --list-faults, report, and `run` passing its arguments to pytest."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from realtime_verify import catalogue as c
from realtime_verify.catalogue import CATALOGUE
from realtime_verify.cli import main
from realtime_verify.outcome import CheckResult, Status
from realtime_verify.reporting.summary import RunReport
from realtime_verify.stack.faults import FAULTS


def test_list_faults_describes_every_fault_and_the_checks_it_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--list-faults"]) == 0
    out = capsys.readouterr().out
    for fault in FAULTS.values():
        assert f"[{fault.layer}] {fault.summary}" in out
        fails = ", ".join(check.id for check in fault.breaks) or "(guarded by checks still to come)"
        assert f"fails: {fails}" in out.split(fault.summary, 1)[1].splitlines()[1]


def test_serve_rejects_an_unknown_fault(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--fault", "edge-chalenge-socket"]) == 2
    assert "Did you mean 'edge-challenge-socket'?" in capsys.readouterr().err


def summary(tmp_path: Path) -> Path:
    result = CheckResult.of(
        c.RT_002,
        Status.FAILED,
        message="p95 <b>900</b> ms",
        fix="find the slow hop",
        latency=[{"segment": "chat A→B", "n": 3, "p50_ms": 1.0, "p95_ms": 900.0, "max_ms": 950.0}],
    )
    result.title = "chat <syncs>"
    report = RunReport.build(
        run_id="r1",
        started=time.time() - 10,
        run_profile="smoke",
        target="https://x.example",
        embedded=False,
        faults=[],
        settings=[],
        capabilities=[],
        browser="",
        results=[result],
        values={},
        exit_status=1,
    )
    path = tmp_path / "summary.json"
    path.write_text(json.dumps(report.to_dict()))
    return path


def test_report_rerenders_html_from_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(summary(tmp_path))]) == 1
    html = (tmp_path / "report.html").read_text()
    assert "chat &lt;syncs&gt;" in html, "titles are escaped"
    assert "p95 &lt;b&gt;900&lt;/b&gt; ms" in html, "messages are escaped"
    assert "<svg" in html
    assert "Sign-off" in html
    assert capsys.readouterr().out.startswith("FAILED: ")


def test_report_on_a_missing_or_foreign_summary_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["report", str(tmp_path / "nope.json")]) == 2
    assert "cannot read" in capsys.readouterr().err
    foreign = tmp_path / "other.json"
    foreign.write_text('{"checks": []}')
    assert main(["report", str(foreign)]) == 2
    assert f"cannot read {foreign} as a realtime-verify summary" in capsys.readouterr().err


def run_command(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "realtime_verify.cli", "run", "--output", str(tmp_path / "reports"), *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False, cwd=tmp_path)


def test_run_passes_an_unknown_check_to_the_plugin_which_lists_the_valid_ones(tmp_path: Path) -> None:
    done = run_command(tmp_path, "--check", "RT-999")
    output = done.stdout + done.stderr
    assert done.returncode == 2, output
    assert "--check RT-999: no such check or family. Valid: " + ", ".join(CATALOGUE.ids) in output
    assert "Traceback" not in output


def test_run_passes_profile_and_pytest_arguments_through(tmp_path: Path) -> None:
    done = run_command(tmp_path, "--profile", "smoke", "--check", "RT", "--", "--collect-only", "-q")
    assert done.returncode == 0, done.stdout + done.stderr
    collected = [line for line in done.stdout.splitlines() if "::" in line]
    assert collected, done.stdout
    assert all("test_realtime.py" in line for line in collected), "--check RT keeps the RT checks only"
    assert not any("test_same_user_tabs" in line for line in collected), "RT-003 is not in the smoke profile"
    written = json.loads((tmp_path / "reports" / "summary.json").read_text())
    ids = {check["check_id"] for check in written["checks"]}
    assert ids == {check.id for check in CATALOGUE.family(c.Family.RT) if c.RunProfile.SMOKE in check.profiles}
    assert {check["status"] for check in written["checks"]} == {"not run"}
    assert written["run_profile"] == "smoke"
