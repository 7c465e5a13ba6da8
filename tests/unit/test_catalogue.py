"""The check catalogue: every check declared once, and the lookups everything else relies on."""

from __future__ import annotations

import re

import pytest

from realtime_verify import catalogue as c
from realtime_verify.catalogue import CATALOGUE, Check, Family, Need, RunProfile, Severity

ID_SHAPE = re.compile(r"^(ENV|NGX|CF|HS|RT|FT|SW)-(\d{3})$")


def test_ids_are_unique_and_well_formed() -> None:
    ids = CATALOGUE.ids
    assert len(ids) == len(set(ids)), f"duplicate IDs: {sorted(i for i in ids if ids.count(i) > 1)}"
    malformed = [i for i in ids if not ID_SHAPE.match(i)]
    assert not malformed, f"IDs not of the form FAMILY-NNN: {malformed}"


def test_every_check_constant_is_in_the_catalogue_under_its_own_name() -> None:
    constants = {name: value for name, value in vars(c).items() if isinstance(value, Check)}
    assert set(constants.values()) == set(CATALOGUE)
    for name, check in constants.items():
        assert name == check.id.replace("-", "_"), f"{name} holds {check.id}"


def test_the_family_comes_from_the_id() -> None:
    for check in CATALOGUE:
        assert check.family is Family(check.id.split("-")[0])
    assert Check("RT-099", "t", "f").family is Family.RT
    with pytest.raises(ValueError, match="XX"):
        Check("XX-001", "t", "f")


def test_checks_are_in_report_order_family_by_family() -> None:
    families = list(Family)
    keys = [(families.index(check.family), check.id) for check in CATALOGUE]
    assert keys == sorted(keys)
    assert [check.id for check in CATALOGUE.family(Family.HS)] == [f"HS-00{n}" for n in range(1, 8)]


def test_every_check_says_what_it_proves_and_how_to_fix_it() -> None:
    for check in CATALOGUE:
        assert check.title.strip(), check.id
        assert check.fix.strip(), check.id
        assert check.profiles, f"{check.id} runs in no profile"
        assert str(check) == check.id


def test_lookup_by_id() -> None:
    assert CATALOGUE["RT-002"] is c.RT_002
    with pytest.raises(KeyError):
        CATALOGUE["RT-999"]


def test_run_profiles_nest_and_nightly_runs_everything() -> None:
    smoke, signoff, nightly = (set(CATALOGUE.in_profile(p)) for p in RunProfile)
    assert smoke < signoff < nightly == set(CATALOGUE)
    assert c.RT_002 in smoke
    assert c.RT_003 not in smoke
    assert c.RT_003 in signoff
    assert c.FT_005 not in signoff
    assert c.FT_005 in nightly


def test_only_state_reports_are_advisory() -> None:
    advisory = {check.id for check in CATALOGUE if check.severity is Severity.ADVISORY}
    assert advisory == {"CF-004", "CF-006"}


def test_needs_say_what_is_missing() -> None:
    for need in Need:
        assert need.value.strip()
    assert c.RT_006.needs == (Need.CHAT, Need.SOCKET_AUTH, Need.SENDER_IDENTITY)
    assert not c.HS_001.needs, "the handshake needs nothing but a target"


def test_family_descriptions() -> None:
    for family in Family:
        assert family.description


@pytest.mark.parametrize(
    ("selectors", "expected"),
    [
        (["RT-002"], {c.RT_002}),
        ([" rt-002 "], {c.RT_002}),
        (["HS"], set(CATALOGUE.family(Family.HS))),
        (["ngx", "RT-001"], {*CATALOGUE.family(Family.NGX), c.RT_001}),
        (["RT-001", "RT"], set(CATALOGUE.family(Family.RT))),
        ([], set()),
    ],
)
def test_select_takes_ids_and_families(selectors: list[str], expected: set[Check]) -> None:
    assert CATALOGUE.select(selectors) == expected


@pytest.mark.parametrize("unknown", ["RT-999", "RTX", "RT002"])
def test_select_rejects_an_unknown_selector(unknown: str) -> None:
    with pytest.raises(KeyError) as raised:
        CATALOGUE.select(["RT-001", unknown])
    assert raised.value.args[0] == unknown.upper()
