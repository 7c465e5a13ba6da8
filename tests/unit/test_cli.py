from __future__ import annotations

import json
from pathlib import Path

import pytest

from realtime_verify.cli import main
from realtime_verify.faults import FAULTS


def test_list_faults_describes_every_fault(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--list-faults"]) == 0
    out = capsys.readouterr().out
    for fault in FAULTS.values():
        assert fault.name in out
        assert fault.summary in out


def test_serve_rejects_an_unknown_fault(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", "--fault", "edge-chalenge-socket"]) == 2
    assert "Did you mean 'edge-challenge-socket'?" in capsys.readouterr().err


def test_report_rerenders_html_from_summary(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    summary = {
        "run_id": "r1",
        "started": "2026-01-01T00:00:00Z",
        "finished": "2026-01-01T00:00:10Z",
        "duration_s": 10,
        "run_profile": "smoke",
        "target": "https://x.example",
        "embedded": False,
        "faults": [],
        "settings": [],
        "versions": {"python": "3.11"},
        "verdict": "FAILED",
        "exit_status": 1,
        "counts": {"passed": 0, "failed": 1},
        "values": {},
        "error": None,
        "checks": [
            {
                "check_id": "RT-002",
                "title": "chat <syncs>",
                "nodeid": "t::x",
                "status": "failed",
                "duration_s": 1.0,
                "message": "p95 <b>900</b> ms",
                "fix": "find the slow hop",
                "values": {},
                "latency": [{"segment": "chat A→B", "n": 3, "p50_ms": 1.0, "p95_ms": 900.0, "max_ms": 950.0}],
            }
        ],
    }
    path = tmp_path / "summary.json"
    path.write_text(json.dumps(summary))
    assert main(["report", str(path)]) == 1
    html = (tmp_path / "report.html").read_text()
    assert "chat &lt;syncs&gt;" in html, "titles are escaped"
    assert "p95 &lt;b&gt;900&lt;/b&gt; ms" in html, "messages are escaped"
    assert "<svg" in html
    assert "Sign-off" in html


def test_report_on_a_missing_summary_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["report", str(tmp_path / "nope.json")]) == 2
    assert "cannot read" in capsys.readouterr().err
