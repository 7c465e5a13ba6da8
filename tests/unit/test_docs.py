"""The README's checks table cannot drift from the check catalogue and the fault catalogue.

The table is generated (`realtime-verify checks --format markdown`); these tests hold the README to
the generator, and, independently of it, to the catalogues themselves.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from realtime_verify.catalogue import CATALOGUE, RunProfile
from realtime_verify.cli import main
from realtime_verify.stack.faults import FAULTS

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
ROW = re.compile(r"^\| ((?:ENV|NGX|CF|HS|RT|FT|SW)-\d{3}) \|.*\|$", re.MULTILINE)
TABLE = {match[1]: [cell.strip() for cell in match[0].strip("|").split("|")] for match in ROW.finditer(README)}


def proven_by(check_id: str) -> set[str]:
    return {fault.name for fault in FAULTS.values() if check_id in {c.id for c in (*fault.breaks, *fault.warns)}}


def test_the_table_is_the_generated_one(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["checks", "--format", "markdown"]) == 0
    generated = capsys.readouterr().out.strip()
    assert generated in README, "regenerate the README's table: realtime-verify checks --format markdown"


def test_every_catalogue_check_has_a_row_in_catalogue_order() -> None:
    assert list(TABLE) == CATALOGUE.ids


@pytest.mark.parametrize("check_id", CATALOGUE.ids)
def test_a_row_says_the_title_and_the_profiles_of_its_check(check_id: str) -> None:
    _, title, profiles, *_ = TABLE[check_id]
    assert title == CATALOGUE[check_id].title
    assert profiles == _profiles(check_id)


def _profiles(check_id: str) -> str:
    profiles = CATALOGUE[check_id].profiles
    return "all" if profiles == frozenset(RunProfile) else ", ".join(p.value for p in RunProfile if p in profiles)


@pytest.mark.parametrize("check_id", CATALOGUE.ids)
def test_the_faults_a_row_names_exist_and_fail_its_check(check_id: str) -> None:
    cell = TABLE[check_id][-1]
    if cell == "-":
        assert not proven_by(check_id), f"{check_id}: name the faults that make it fail"
        return
    names = re.findall(r"`([^`]+)`", cell)
    assert names, f"{check_id}: {cell!r} names no fault"
    for name in names:
        assert name in FAULTS, f"{check_id}: the README names a fault that does not exist: {name}"
        assert name in proven_by(check_id), f"{check_id}: {name} does not make it fail"


def test_every_fault_that_proves_a_check_is_named_in_the_readme() -> None:
    for fault in FAULTS.values():
        if fault.breaks or fault.warns:
            assert f"`{fault.name}`" in README, f"the README should name the fault {fault.name}"
