"""The README's checks table cannot drift from the catalogue and the fault catalogue."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from realtime_verify.catalogue import CATALOGUE, RunProfile
from realtime_verify.stack.faults import FAULTS

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text()
ROW = re.compile(r"^\| ((?:ENV|NGX|CF|HS|RT|FT|SW)-\d{3}) \| (.+?) \| (.+?) \| (.+?) \|$", re.MULTILINE)
TABLE = {match[1]: match.groups()[1:] for match in ROW.finditer(README)}


def named(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def test_the_table_is_found() -> None:
    assert len(TABLE) >= 20, "the README's checks table moved or changed shape: update ROW"


def test_every_row_is_a_catalogue_check() -> None:
    unknown = sorted(set(TABLE) - set(CATALOGUE.ids))
    assert not unknown, f"the README lists checks the catalogue does not have: {unknown}"


@pytest.mark.xfail(strict=True, reason="the README's table has no rows yet for FT-001..007 and SW-001..002")
def test_every_catalogue_check_is_in_the_table() -> None:
    missing = [check for check in CATALOGUE.ids if check not in TABLE]
    assert not missing, f"add these checks to the README's table (or regenerate it): {missing}"


def test_the_rows_are_in_catalogue_order() -> None:
    assert list(TABLE) == [check for check in CATALOGUE.ids if check in TABLE]


@pytest.mark.parametrize("check_id", sorted(TABLE))
def test_a_row_names_the_profiles_of_its_check(check_id: str) -> None:
    profiles = CATALOGUE[check_id].profiles
    expected = "all" if profiles == frozenset(RunProfile) else ", ".join(p.value for p in RunProfile if p in profiles)
    assert TABLE[check_id][1] == expected


@pytest.mark.parametrize("check_id", sorted(TABLE))
def test_the_faults_a_row_names_exist_and_fail_its_check(check_id: str) -> None:
    cell = TABLE[check_id][2]
    names = named(cell)
    assert names, f"{check_id}: name a fault (or a fixture) that makes it fail"
    for name in names:
        if cell.startswith("fixture"):
            assert list(ROOT.glob(f"tests/fixtures/**/{name}")), f"{check_id}: no fixture {name}"
            continue
        assert name in FAULTS, f"{check_id}: the README names a fault that does not exist: {name}"
        fault = FAULTS[name]
        proven = {check.id for check in (*fault.breaks, *fault.warns)}
        assert check_id in proven, f"{check_id}: {name} does not make it fail (it fails {sorted(proven)})"


def test_every_fault_that_proves_a_check_is_named_in_the_readme() -> None:
    for fault in FAULTS.values():
        if fault.breaks or fault.warns:
            assert f"`{fault.name}`" in README, f"the README should name the fault {fault.name}"


def test_the_faults_awaiting_their_checks_exist() -> None:
    waiting = re.search(r"the faults that will prove them \(([^)]*)\)", README.replace("\n", " "))
    assert waiting, "the README's sentence on the faults of the checks to come moved"
    names = named(waiting[1])
    assert names
    assert [name for name in names if name not in FAULTS] == []
