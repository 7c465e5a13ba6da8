"""The embedded stack's fault catalogue: each fault changes its one layer, and names catalogue checks."""

from __future__ import annotations

import dataclasses

import pytest

from realtime_verify.catalogue import CATALOGUE
from realtime_verify.errors import UsageError
from realtime_verify.stack import StackConfig, Timers
from realtime_verify.stack.edge import EdgeBehaviour
from realtime_verify.stack.faults import FAULTS, Fault, Layer, LayerSettings, build_settings, resolve_faults
from realtime_verify.stack.nginx import NGINX_EDITS
from realtime_verify.stack.settings import PageEnv
from realtime_verify.stack.zone import scenario_names
from reference_app.faults import APP_FAULTS

COMPRESSED = Timers.compressed()


def in_layer(layer: Layer) -> set[str]:
    return {fault.name for fault in FAULTS.values() if fault.layer is layer}


def test_no_fault_is_a_healthy_stack() -> None:
    settings = build_settings([], COMPRESSED)
    assert settings == LayerSettings(edge=EdgeBehaviour(idle_timeout_s=COMPRESSED.edge_idle_timeout_s))
    assert settings.timers == COMPRESSED
    assert settings.page == PageEnv()


def test_app_faults_are_passed_to_the_app_by_name() -> None:
    settings = build_settings(["no-pong", "sender-spoofable", "nginx-no-upgrade"], COMPRESSED)
    assert settings.app_faults == {"no-pong", "sender-spoofable"}
    assert settings.page == PageEnv()


def test_the_harness_and_the_app_know_the_same_app_faults() -> None:
    # The app validates RA_FAULTS against its own list: a name only one side knows breaks a run.
    assert in_layer(Layer.APP) == set(APP_FAULTS)


@pytest.mark.parametrize(
    ("fault", "page"),
    [
        ("insecure-socket-url", PageEnv(insecure_url=True)),
        ("websockets-disabled", PageEnv(enable_websockets="false")),
        ("socket-path-mismatch", PageEnv(websocket_path="/ws")),
        ("env-sources-disagree", PageEnv(configmap_url_without_port=True)),
    ],
)
def test_env_faults_change_what_the_page_is_built_with(fault: str, page: PageEnv) -> None:
    assert build_settings([fault], COMPRESSED).page == page


def test_env_faults_fold_together() -> None:
    page = build_settings(["insecure-socket-url", "socket-path-mismatch"], COMPRESSED).page
    assert page == PageEnv(insecure_url=True, websocket_path="/ws")


@pytest.mark.parametrize("timers", [Timers.compressed(), Timers.production()], ids=["compressed", "production"])
def test_ping_above_edge_timeout_raises_the_ping_interval_past_the_edge(timers: Timers) -> None:
    changed = build_settings(["ping-above-edge-timeout"], timers).timers
    assert changed.ping_interval_s > timers.edge_idle_timeout_s
    assert changed.socket_silence_s > timers.nginx_read_timeout_s, "what HS-002 and NGX-004 compare"
    assert dataclasses.replace(changed, ping_interval_s=timers.ping_interval_s) == timers


@pytest.mark.parametrize("timers", [Timers.compressed(), Timers.production()], ids=["compressed", "production"])
def test_healthy_timers_keep_every_idle_timeout_above_the_ping(timers: Timers) -> None:
    assert timers.socket_silence_s < timers.nginx_read_timeout_s
    assert timers.socket_silence_s < timers.edge_idle_timeout_s


def test_nginx_faults_are_edits_of_the_conf() -> None:
    names = sorted(in_layer(Layer.NGINX))
    settings = build_settings(names, COMPRESSED)
    assert set(settings.nginx_edits) == {FAULTS[name].nginx_edit for name in names}
    assert set(settings.nginx_edits) <= set(NGINX_EDITS)
    assert settings.app_faults == frozenset()


@pytest.mark.parametrize(
    ("fault", "behaviour"),
    [
        ("edge-challenge-socket", {"challenge_socket": True}),
        ("edge-cache-socket", {"cache_socket": True}),
        ("edge-websockets-off", {"websockets": False}),
        ("edge-dns-only", {"cloudflare_headers": False}),
    ],
)
def test_edge_faults_change_the_edge_behaviour(fault: str, behaviour: dict[str, object]) -> None:
    edge = build_settings([fault], COMPRESSED).edge
    assert edge == EdgeBehaviour(idle_timeout_s=COMPRESSED.edge_idle_timeout_s, **behaviour)  # type: ignore[arg-type]


def test_zone_faults_overlay_a_scenario_of_the_zone() -> None:
    names = sorted(in_layer(Layer.ZONE))
    overlays = build_settings(names, COMPRESSED).zone_overlays
    assert set(overlays) == {FAULTS[name].zone_overlay for name in names}
    assert set(overlays) <= set(scenario_names())


@pytest.mark.parametrize("fault", FAULTS.values(), ids=lambda fault: fault.name)
def test_a_fault_changes_its_own_layer_and_no_other(fault: Fault) -> None:
    changes = {
        Layer.ENV: fault.page is not None,
        Layer.TIMERS: fault.timers is not None,
        Layer.NGINX: fault.nginx_edit is not None,
        Layer.EDGE: bool(fault.edge),
        Layer.ZONE: fault.zone_overlay is not None,
    }
    assert {layer for layer, changed in changes.items() if changed} == (
        set() if fault.layer is Layer.APP else {fault.layer}
    )
    assert fault.summary.strip()


@pytest.mark.parametrize("fault", FAULTS.values(), ids=lambda fault: fault.name)
def test_a_fault_names_catalogue_checks(fault: Fault) -> None:
    for check in (*fault.breaks, *fault.may_break, *fault.warns):
        assert CATALOGUE[check.id] is check, f"{fault.name}: {check!r} is not the catalogue's"
    assert not set(fault.breaks) & set(fault.may_break)
    assert not set(fault.breaks) & set(fault.warns)
    assert len(set(fault.breaks)) == len(fault.breaks), f"{fault.name} names a check twice"


def test_the_catalogue_is_keyed_by_name() -> None:
    assert all(name == fault.name for name, fault in FAULTS.items())


def test_an_unknown_fault_suggests_the_closest_name() -> None:
    with pytest.raises(UsageError) as raised:
        resolve_faults(["no-brodcast"])
    assert "Unknown fault 'no-brodcast'. Did you mean 'no-broadcast'?" in str(raised.value)
    assert "realtime-verify serve --list-faults" in str(raised.value)
    with pytest.raises(UsageError, match="Unknown fault 'x'"):
        build_settings(["x"], COMPRESSED)


def test_faults_resolve_in_catalogue_order_once() -> None:
    names = [f.name for f in resolve_faults(["no-pong", "nginx-no-upgrade", "no-pong"])]
    assert names == ["nginx-no-upgrade", "no-pong"]
    assert resolve_faults([]) == ()


def test_stack_config_checks_its_faults_and_round_trips() -> None:
    with pytest.raises(UsageError, match="Did you mean 'edge-dns-only'"):
        StackConfig(faults=("edge-dns-onyl",))
    config = StackConfig(faults=("no-pong",), timers=Timers.production(), socket_path="rt")
    assert config.socket_path == "/rt/"
    assert StackConfig.from_json(config.to_json()) == config
