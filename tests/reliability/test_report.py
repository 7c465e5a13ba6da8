"""`realtime-verify report` on a summary.json it cannot use: exit 2 in one line naming the file and
what is wrong with it, never a traceback (which would exit 1, "a check failed")."""

from __future__ import annotations

import json
from pathlib import Path

from tests.reliability.conftest import assert_case, realtime_verify, write


def test_a_summary_that_does_not_exist(tmp_path: Path) -> None:
    result = realtime_verify(tmp_path, "report", "reports/summary.json")
    line = "cannot read reports/summary.json as a realtime-verify summary: [Errno 2] No such file or directory"
    assert_case(result, 2, line, only_line=True)


def test_a_summary_that_is_not_json(tmp_path: Path) -> None:
    write(tmp_path / "summary.json", '{"verdict": "PASSED",\n')
    result = realtime_verify(tmp_path, "report", "summary.json")
    assert_case(result, 2, "cannot read summary.json as a realtime-verify summary: Expecting", only_line=True)


def test_a_summary_missing_keys(tmp_path: Path) -> None:
    write(tmp_path / "summary.json", json.dumps({"verdict": "PASSED", "checks": []}))
    result = realtime_verify(tmp_path, "report", "summary.json")
    assert_case(result, 2, "cannot read summary.json as a realtime-verify summary:", only_line=True)
    assert "'run_id'" in result.output, "the missing keys are named"


def test_a_folder_instead_of_a_summary(tmp_path: Path) -> None:
    (tmp_path / "reports").mkdir()
    result = realtime_verify(tmp_path, "report", "reports")
    assert_case(
        result, 2, "cannot read reports as a realtime-verify summary: [Errno 21] Is a directory", only_line=True
    )


def test_a_summary_that_is_a_json_list(tmp_path: Path) -> None:
    write(tmp_path / "summary.json", json.dumps([{"check_id": "RT-001", "status": "passed"}]))
    result = realtime_verify(tmp_path, "report", "summary.json")
    assert_case(result, 2, "cannot read summary.json as a realtime-verify summary", only_line=True)


def test_a_summary_with_a_field_of_the_wrong_type(tmp_path: Path) -> None:
    summary = {
        "run_id": "r1",
        "started": "2026-11-29T06:00:00Z",
        "finished": "2026-11-29T06:01:00Z",
        "duration_s": 60,
        "run_profile": "smoke",
        "target": "https://app.example.com",
        "embedded": False,
        "faults": [],
        "settings": [],
        "capabilities": [],
        "versions": {},
        "verdict": "PASSED",
        "exit_status": 0,
        "counts": "all of them",  # a table of counts per status
        "values": {},
        "checks": [],
    }
    write(tmp_path / "summary.json", json.dumps(summary))
    result = realtime_verify(tmp_path, "report", "summary.json")
    assert_case(result, 2, "cannot read summary.json as a realtime-verify summary", only_line=True)
