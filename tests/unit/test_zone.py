"""The one fake Cloudflare API: scenarios, overlays, tokens, read-only, and what the real SDK makes of it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import cloudflare
import pytest
from cloudflare import Cloudflare

from realtime_verify.audit.cloudflare import read_zone
from realtime_verify.stack.control import edge_overlays
from realtime_verify.stack.edge import EdgeBehaviour
from realtime_verify.stack.zone import (
    BASE_SCENARIO,
    FIXTURE_ZONE_ID,
    SCENARIOS,
    ZoneApi,
    load_scenario,
    scenario_names,
    serve_zone_api,
)

TOKEN = "zone-read-token"
PLACEHOLDERS = {
    "zone_id": "zid123",
    "zone_name": "example.org",
    "site_host": "www.example.org",
    "socket_path": "/rt/",
    "socket_prefix": "/rt",
}


def settings_path(api: ZoneApi, setting: str) -> str:
    return f"/zones/{api.zone_id}/settings/{setting}"


@pytest.mark.parametrize("name", scenario_names())
def test_every_scenario_is_cloudflare_shaped_with_its_placeholders_filled(name: str) -> None:
    text = (SCENARIOS / f"{name}.json").read_text()
    responses = load_scenario(name, PLACEHOLDERS)
    assert json.loads(text)["description"]
    assert responses, f"{name} replaces no response"
    for request, answer in responses.items():
        method, _, path = request.partition(" ")
        assert method == "GET", f"{name}: the fake zone only answers reads ({request})"
        assert path.startswith("/zones"), request
        assert set(answer["body"]) >= {"success", "errors", "messages", "result"}, request
    filled = json.dumps(responses)
    for key in PLACEHOLDERS:
        assert "{" + key + "}" not in filled, f"{name}: placeholder {key} left unfilled"
    if "{zone_id}" in text:
        assert "zid123" in filled


def test_an_unknown_scenario_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown zone scenario 'nope'; known: .*healthy-zone"):
        load_scenario("nope", PLACEHOLDERS)


def test_the_healthy_zone_answers_the_reads_the_audit_makes() -> None:
    api = ZoneApi()
    status, body = api.answer("GET", settings_path(api, "websockets"))
    assert (status, body["success"], body["result"]["value"]) == (200, True, "on")
    status, body = api.answer("GET", "/zones", "name=example.com")
    assert body["result"][0]["id"] == FIXTURE_ZONE_ID
    assert body["result"][0]["name"] == "example.com"


def test_overlays_replace_responses_and_may_follow_a_callable() -> None:
    assert ZoneApi(overlays=["websockets-off"]).answer("GET", settings_path(ZoneApi(), "websockets"))[1]["result"][
        "value"
    ] == ("off")
    current: list[str] = []
    api = ZoneApi(overlays=lambda: current)
    assert api.answer("GET", settings_path(api, "websockets"))[1]["result"]["value"] == "on"
    current.append("websockets-off")
    assert api.answer("GET", settings_path(api, "websockets"))[1]["result"]["value"] == "off"


def test_the_socket_path_is_the_zones_own() -> None:
    api = ZoneApi(overlays=["challenge-rule"], socket_path="/rt/")
    _, body = api.answer("GET", f"/zones/{api.zone_id}/rulesets/phases/http_request_firewall_custom/entrypoint")
    assert '"/rt"' in body["result"]["rules"][0]["expression"]


def test_a_wrong_token_is_refused_with_401() -> None:
    api = ZoneApi(token=TOKEN)
    path = settings_path(api, "websockets")
    assert api.answer("GET", path, authorization=f"Bearer {TOKEN}")[0] == 200
    for authorization in (None, "Bearer other", TOKEN):
        status, body = api.answer("GET", path, authorization=authorization)
        assert status == 401
        assert body["errors"][0]["message"] == "Authentication error"
    assert ZoneApi().answer("GET", path, authorization="Bearer anything")[0] == 200, "no token set: any token"


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_every_write_is_refused_with_405_and_recorded(method: str) -> None:
    api = ZoneApi(token=TOKEN)
    status, body = api.answer(method, settings_path(api, "websockets"), authorization=f"Bearer {TOKEN}")
    assert status == 405
    assert "read-only" in body["errors"][0]["message"]
    assert api.requests == [(method, settings_path(api, "websockets"))]


def test_unknown_paths_outages_and_pages_past_the_last() -> None:
    api = ZoneApi()
    assert api.answer("GET", "/zones/x/dns_records")[0] == 404
    assert ZoneApi(status_override=403).answer("GET", "/zones")[0] == 403
    _, first = api.answer("GET", f"/zones/{api.zone_id}/pagerules", "page=1&per_page=50")
    _, second = api.answer("GET", f"/zones/{api.zone_id}/pagerules", "page=2&per_page=50")
    assert second["result"] == []
    assert api.requests[-2:] == [
        ("GET", f"/zones/{api.zone_id}/pagerules?page=1&per_page=50"),
        ("GET", f"/zones/{api.zone_id}/pagerules?page=2&per_page=50"),
    ]
    assert isinstance(first["result"], list)


# Through the real SDK, over HTTP ------------------------------------------------------------------


@pytest.fixture
def served() -> Iterator[tuple[ZoneApi, str]]:
    api = ZoneApi(token=TOKEN)
    with serve_zone_api(api) as url:
        yield api, url


def sdk(url: str, token: str = TOKEN) -> Cloudflare:
    return Cloudflare(api_token=token, base_url=url, max_retries=0, timeout=5)


def test_the_sdk_reads_the_zone(served: tuple[ZoneApi, str]) -> None:
    api, url = served
    assert url.startswith("http://127.0.0.1:")
    assert url.endswith("/client/v4")
    client = sdk(url)
    try:
        zones = client.zones.list(name="example.com").result
        assert [(z.id, z.name) for z in zones] == [(FIXTURE_ZONE_ID, "example.com")]
        setting = client.zones.settings.get(setting_id="websockets", zone_id=FIXTURE_ZONE_ID)
        assert setting is not None
        assert setting.to_dict()["value"] == "on"
    finally:
        client.close()
    assert ("GET", "/zones?name=example.com") in api.requests


def test_the_sdk_gets_an_authentication_error_for_a_wrong_token(served: tuple[ZoneApi, str]) -> None:
    _, url = served
    client = sdk(url, "wrong-token")
    try:
        with pytest.raises(cloudflare.AuthenticationError):
            client.zones.settings.get(setting_id="websockets", zone_id=FIXTURE_ZONE_ID)
    finally:
        client.close()


def test_a_write_through_the_sdk_is_refused_and_recorded(served: tuple[ZoneApi, str]) -> None:
    api, url = served
    client = sdk(url)
    try:
        with pytest.raises(cloudflare.APIStatusError) as raised:
            client.zones.settings.edit(setting_id="websockets", zone_id=FIXTURE_ZONE_ID, value="off")
    finally:
        client.close()
    assert raised.value.status_code == 405
    assert api.requests == [("PATCH", f"/zones/{FIXTURE_ZONE_ID}/settings/websockets")]
    assert api.answer("GET", settings_path(api, "websockets"), authorization=f"Bearer {TOKEN}")[1]["result"][
        "value"
    ] == ("on"), "the refused write changed nothing"


def test_the_audits_reader_only_reads(served: tuple[ZoneApi, str]) -> None:
    api, url = served
    zone = read_zone(token=TOKEN, token_env="CF_TOKEN", zone_id=None, zone_name="example.com", base_url=url)
    assert zone.id == FIXTURE_ZONE_ID
    assert zone.settings["websockets"]["value"] == "on"
    assert zone.unreadable == {}
    assert api.requests, "the reader must have asked"
    assert {method for method, _ in api.requests} == {"GET"}


def test_the_base_scenario_is_the_healthy_zone() -> None:
    assert BASE_SCENARIO in scenario_names()
    assert Path(SCENARIOS / f"{BASE_SCENARIO}.json").is_file()


def test_the_embedded_zone_reports_what_its_edge_does() -> None:
    assert edge_overlays(EdgeBehaviour()) == []
    overlays = edge_overlays(EdgeBehaviour(challenge_socket=True, cache_socket=True, websockets=False))
    assert overlays == ["challenge-rule", "cache-rule", "websockets-off"]
    assert set(overlays) <= set(scenario_names())
    api = ZoneApi(overlays=overlays)
    assert api.answer("GET", settings_path(api, "websockets"))[1]["result"]["value"] == "off"
