"""What an app has, as its profile declares it, and the reason each missing capability skips a check."""

from __future__ import annotations

import re
from typing import Any

import pytest

from realtime_verify import catalogue as c
from realtime_verify.adapter.capabilities import MISSING, Capabilities, TargetFacts, missing, needs_met, skip_reason
from realtime_verify.catalogue import CATALOGUE, Need
from realtime_verify.config import SECTIONS, Profile, load_profile

# A target that provides everything a check can need: nothing is skipped against it.
COMPLETE: dict[str, str] = {
    "target.base_url": "https://app.example.com",
    "target.behind_cloudflare": "true",
    "config_files.env": ".env",
    "config_files.nginx": "nginx.conf",
    "cloudflare.zone_name": "example.com",
    "faults.allowed": "client,edge,backend",
}


def profile(**overrides: str) -> Profile:
    return load_profile(env={}, overrides={**COMPLETE, **{k.replace("__", "."): v for k, v in overrides.items()}})


def judged(p: Profile) -> tuple[Capabilities, TargetFacts]:
    return Capabilities.from_profile(p), TargetFacts.from_profile(p)


def test_the_reference_contract_has_every_capability() -> None:
    capabilities = Capabilities.from_profile(load_profile(env={}))
    assert capabilities == Capabilities(
        login="api",
        chat="direct",
        send_by="click",
        items="orders",
        heartbeat=True,
        socket_auth=True,
        sender_identity=True,
        resync=True,
        service_worker=True,
        connection_badge=True,
    )
    assert "chat: direct" in capabilities.describe()


def test_a_nickname_room_chat_without_buttons() -> None:
    capabilities = Capabilities.from_profile(
        load_profile(
            env={},
            overrides={
                "auth.mode": "nickname",
                "app.chat": "room",
                "app.room": "lobby",
                "app.items": "none",
                "ui.chat_send": "",
                "ui.send_key": "Enter",
                "ui.connected": "",
                "events.health_ping": "",
            },
        )
    )
    assert capabilities.login == "nickname"
    assert capabilities.chat == "room"
    assert capabilities.send_by == "Enter"
    assert capabilities.items == "none"
    assert not capabilities.heartbeat, "no ping event: Engine.IO's heartbeat is judged instead"
    assert not capabilities.connection_badge


def test_without_login_sockets_cannot_authenticate_and_without_a_sender_path_nothing_is_attributed() -> None:
    anonymous = Capabilities.from_profile(load_profile(env={}, overrides={"auth.mode": "none"}))
    assert not anonymous.socket_auth
    unsigned = Capabilities.from_profile(load_profile(env={}, overrides={"events.chat_sender_path": ""}))
    assert not unsigned.sender_identity
    assert unsigned.socket_auth
    assert not Capabilities.from_profile(load_profile(env={}, overrides={"app.heartbeat": "false"})).heartbeat


def test_a_form_login_with_cookies_and_tasks() -> None:
    capabilities = Capabilities.from_profile(
        load_profile(env={}, overrides={"auth.mode": "form", "app.items": "tasks", "app.service_worker": "false"})
    )
    assert (capabilities.login, capabilities.items, capabilities.socket_auth) == ("form", "tasks", True)
    assert not capabilities.service_worker


def test_target_facts_from_the_profile() -> None:
    assert TargetFacts.from_profile(load_profile(env={})) == TargetFacts(
        behind_cloudflare=False,
        env_sources=False,
        nginx_conf=False,
        cloudflare_zone=False,
        fault_methods=frozenset({"client"}),
    )
    complete = TargetFacts.from_profile(profile())
    assert (complete.behind_cloudflare, complete.env_sources, complete.nginx_conf, complete.cloudflare_zone) == (
        True,
        True,
        True,
        True,
    )
    assert complete.fault_methods == {"client", "edge", "backend"}
    assert TargetFacts.from_profile(profile(config_files__env="", config_files__k8s="m.yaml")).env_sources


def test_a_complete_target_skips_nothing() -> None:
    capabilities, facts = judged(profile())
    assert [check.id for check in CATALOGUE if skip_reason(check, capabilities, facts)] == []
    assert needs_met(CATALOGUE, capabilities, facts) == list(CATALOGUE)


# One case per capability that turns a check into a skip: what takes it away, and a check it skips.
LACKING: list[tuple[Need, dict[str, Any], Any]] = [
    (Need.CHAT, {"app__chat": "none"}, c.RT_002),
    (Need.DIRECT_CHAT, {"app__chat": "room", "app__room": "lobby"}, None),
    (Need.ITEMS, {"app__items": "none"}, c.RT_004),
    (Need.SOCKET_AUTH, {"app__socket_auth": "false"}, c.HS_007),
    (Need.SOCKET_AUTH, {"auth__mode": "none"}, c.HS_007),
    (Need.SENDER_IDENTITY, {"events__chat_sender_path": ""}, c.RT_006),
    (Need.RESYNC, {"app__resync": "false"}, c.FT_002),
    (Need.SERVICE_WORKER, {"app__service_worker": "false"}, c.SW_001),
    (Need.BEHIND_CLOUDFLARE, {"target__behind_cloudflare": "false"}, c.HS_006),
    (Need.ENV_SOURCES, {"config_files__env": ""}, c.ENV_001),
    (Need.NGINX_CONF, {"config_files__nginx": ""}, c.NGX_003),
    (Need.CLOUDFLARE_ZONE, {"cloudflare__zone_name": ""}, c.CF_002),
    (Need.BACKEND_RESTART, {"faults__allowed": "client,edge"}, c.FT_004),
    (Need.EDGE_FAULTS, {"faults__allowed": "client,backend"}, None),
]


@pytest.mark.parametrize(
    ("need", "change", "check"),
    LACKING,
    ids=[f"{need.name}-{'-'.join(change.values())}" for need, change, _ in LACKING],
)
def test_a_missing_capability_skips_the_checks_that_need_it(need: Need, change: dict[str, Any], check: Any) -> None:
    capabilities, facts = judged(profile(**change))
    reason = MISSING[need]
    assert missing(need, capabilities, facts) == reason
    assert missing(need, *judged(profile())) is None
    if check is not None:
        assert need in check.needs
        assert skip_reason(check, capabilities, facts) == reason
    for other in CATALOGUE:
        assert (need in other.needs) == (skip_reason(other, capabilities, facts) is not None), other.id


def test_every_need_but_the_page_can_be_missing() -> None:
    assert {need for need, _, _ in LACKING} == set(Need) - {Need.PAGE}
    assert (
        missing(Need.PAGE, *judged(load_profile(env={}, overrides={"auth.mode": "none", "app.chat": "none"}))) is None
    )


KEY = re.compile(r"\b([a-z_]+)\.([a-z_]+)\b")


@pytest.mark.parametrize("need", sorted(set(Need) - {Need.PAGE}), ids=lambda need: need.name)
def test_a_skip_reason_names_the_profile_key_that_says_so(need: Need) -> None:
    named = [(s, k) for s, k in KEY.findall(MISSING[need]) if s in SECTIONS and k in SECTIONS[s].model_fields]
    assert named, f"{need.name}: {MISSING[need]!r} names no profile key"


def test_every_reason_is_given_at_once() -> None:
    capabilities, facts = judged(profile(app__chat="none", events__chat_sender_path="", app__socket_auth="false"))
    assert skip_reason(c.RT_006, capabilities, facts) == "; ".join(
        MISSING[need] for need in (Need.CHAT, Need.SOCKET_AUTH, Need.SENDER_IDENTITY)
    )
    assert c.RT_006 not in needs_met(CATALOGUE, capabilities, facts)
