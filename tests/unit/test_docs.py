"""The README's tables cannot drift from the code: every check and every fault is documented."""

from __future__ import annotations

from pathlib import Path

from realtime_verify.faults import FAULTS
from tests.selftest.test_faults import suite_check_ids

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_every_check_of_the_suite_is_in_the_checks_table() -> None:
    missing = [check for check in sorted(suite_check_ids()) if f"| {check} |" not in README]
    assert not missing, f"add these checks to the README's table: {missing}"


def test_the_faults_named_in_the_readme_exist() -> None:
    for fault in FAULTS.values():
        if fault.breaks or fault.warns:
            assert f"`{fault.name}`" in README, f"the README should name the fault {fault.name}"
