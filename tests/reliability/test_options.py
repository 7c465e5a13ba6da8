"""Bad options of `realtime-verify run`: exit 2 before any check, in one line naming the option and
the valid values; an unusable --output is found before the run, not when its reports are written."""

from __future__ import annotations

import os
from pathlib import Path

from tests.reliability.conftest import assert_case, realtime_verify, write


def test_an_unknown_check_lists_the_valid_ids(tmp_path: Path) -> None:
    result = realtime_verify(tmp_path, "run", "--check", "XYZ-999")
    line = "--check XYZ-999: no such check or family. Valid: ENV-001, ENV-002"
    assert_case(result, 2, line, only_line=True)
    assert "(or a family: ENV, NGX, CF, HS, RT, FT, SW)" in result.output


def test_an_unknown_fault_suggests_the_closest(tmp_path: Path) -> None:
    result = realtime_verify(tmp_path, "run", "--fault", "no-brodcast")
    assert_case(result, 2, "Unknown fault 'no-brodcast'. Did you mean 'no-broadcast'?", only_line=True)


def test_a_fault_with_a_target(tmp_path: Path) -> None:
    result = realtime_verify(tmp_path, "run", "--fault", "no-broadcast", "--target", "http://127.0.0.1:9")
    line = "--fault switches faults of the embedded reference stack; it cannot apply to a --target"
    assert_case(result, 2, line, only_line=True)


def test_production_timers_with_a_target(tmp_path: Path) -> None:
    result = realtime_verify(tmp_path, "run", "--production-timers", "--target", "http://127.0.0.1:9")
    line = "--production-timers sets the embedded stack's timers; a --target has its own"
    assert_case(result, 2, line, only_line=True)


def test_an_unknown_run_profile(tmp_path: Path) -> None:
    result = realtime_verify(tmp_path, "run", "--profile", "quick")
    line = "argument --profile: invalid choice: 'quick' (choose from 'smoke', 'signoff', 'nightly')"
    assert_case(result, 2, line)


def test_output_naming_a_file(tmp_path: Path) -> None:
    report = write(tmp_path / "report.txt", "keep me\n")
    result = realtime_verify(tmp_path, "run", "--target", "http://127.0.0.1:9", output=report)
    assert_case(result, 2, f"--output {report} is a file; give a folder for the reports", only_line=True)
    assert report.read_text() == "keep me\n", "the file named by --output is left as it was"


def test_output_inside_a_file(tmp_path: Path) -> None:
    inside = write(tmp_path / "report.txt", "keep me\n") / "reports"
    result = realtime_verify(tmp_path, "run", "--target", "http://127.0.0.1:9", output=inside)
    assert_case(result, 2, f"--output {inside} cannot be written (Not a directory): give a writable folder")


def test_output_that_cannot_be_created(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        # root writes through file modes; /proc refuses everyone a new folder.
        unwritable, why = Path(f"/proc/rv-reliability-{os.getpid()}"), "No such file or directory"
    else:
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        unwritable, why = locked / "reports", "Permission denied"
    result = realtime_verify(tmp_path, "run", "--target", "http://127.0.0.1:9", output=unwritable)
    assert_case(result, 2, f"--output {unwritable} cannot be written ({why}): give a writable folder")
