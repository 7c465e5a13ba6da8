"""HS-* judgements on what the live probes answered: a handshake and an upgrade in, an outcome out."""

from __future__ import annotations

from typing import Any

import pytest

from realtime_verify import catalogue as c
from realtime_verify.checks import handshake as hs
from realtime_verify.errors import CheckFailure, NotApplicable
from realtime_verify.probes import Handshake, UpgradeProbe

URL = "https://app.test/socket.io/?EIO=4&transport=polling"
WS_URL = "wss://app.test/socket.io/?EIO=4&transport=websocket"
ORIGIN = "https://app.test"
OPEN = {"sid": "x", "upgrades": ["websocket"], "pingInterval": 25000, "pingTimeout": 20000}
CHALLENGE = "<!DOCTYPE html><title>Just a moment...</title>"
EDGE = {"cf-ray": "8f1-AMS", "cf-cache-status": "DYNAMIC"}


def handshake(
    status: int = 200, body: str = "", headers: dict[str, str] | None = None, packet: dict[str, Any] | None = None
) -> Handshake:
    return Handshake(URL, status, dict(EDGE if headers is None else headers), body, packet)


def probe(status: int | None = 101, headers: dict[str, str] | None = None, **values: Any) -> UpgradeProbe:
    return UpgradeProbe(WS_URL, status, dict(EDGE if headers is None else headers), **values)


def failure(call: Any, *args: Any, **kwargs: Any) -> CheckFailure:
    with pytest.raises(CheckFailure) as raised:
        call(*args, **kwargs)
    return raised.value


# Reading the server's own refusal ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "error", "origin"),
    [
        (400, '{"code": 3, "message": "Bad request"}', "Bad request (Engine.IO error code 3)", None),
        (400, '"https://app.test is not an accepted origin."', '"https://app.test is not an accepted origin."', True),
        (403, "Forbidden", "Forbidden", True),
        (400, "", None, None),
        (200, '{"message": "x"}', None, None),
        (502, "Bad Gateway", None, None),
    ],
)
def test_engineio_errors_and_origin_refusals(status: int, body: str, error: str | None, origin: bool | None) -> None:
    assert hs.engineio_error(status, body) == error
    assert (hs.refused_origin(status, body) is not None) == bool(origin)


# HS-001 ------------------------------------------------------------------------------------------


def test_hs001_an_open_packet_offering_websocket_passes_with_the_timers() -> None:
    judgement = hs.judge_open_packet(handshake(packet=OPEN), ORIGIN)
    assert judgement.metrics == {"pingInterval_ms": 25000, "pingTimeout_ms": 20000}


def test_hs001_names_a_challenge_an_origin_refusal_a_missing_packet_and_no_upgrade() -> None:
    challenged = failure(hs.judge_open_packet, handshake(403, CHALLENGE, {"cf-mitigated": "challenge"}), ORIGIN)
    assert "Cloudflare challenged the handshake" in challenged.message
    assert challenged.fix == hs.CHALLENGE_FIX
    refused = failure(hs.judge_open_packet, handshake(400, '"https://app.test is not an accepted origin."'), ORIGIN)
    assert "the server refused the browser's Origin https://app.test (HTTP 400" in refused.message
    assert "Host $http_host" in refused.fix
    empty = failure(hs.judge_open_packet, handshake(200, "<html>welcome</html>"), ORIGIN)
    assert "answered HTTP 200 without an Engine.IO open packet: '<html>welcome</html>'" in empty.message
    assert empty.fix == c.HS_001.fix
    polling_only = failure(hs.judge_open_packet, handshake(packet={**OPEN, "upgrades": []}), ORIGIN)
    assert "offers upgrades [], not websocket: clients stay on long-polling" in polling_only.message


# HS-002 ------------------------------------------------------------------------------------------


def test_hs002_ping_below_both_timeouts_passes() -> None:
    judgement = hs.judge_ping_fits_timeouts(handshake(packet=OPEN), edge_idle_s=100, nginx_read_s=120)
    assert judgement.metrics == {"pingInterval_s": 25, "pingTimeout_s": 20, "edge_idle_s": 100, "nginx_read_s": 120}


def test_hs002_a_short_nginx_read_timeout_fails_with_where_and_the_value_to_set() -> None:
    found = failure(
        hs.judge_ping_fits_timeouts,
        handshake(packet=OPEN),
        edge_idle_s=100,
        nginx_read_s=40,
        nginx_where="app.conf:31",
        suggested_read_timeout_s=90,
    )
    assert found.message == (
        "pingInterval 25 s + pingTimeout 20 s = 45 s is not below nginx's proxy_read_timeout of 40 s"
        " (app.conf:31): a late ping gets a socket cut"
    )
    assert found.fix == "set proxy_read_timeout in the socket location to 90s"
    default = failure(hs.judge_ping_fits_timeouts, handshake(packet=OPEN), edge_idle_s=None, nginx_read_s=40)
    assert default.fix == "set proxy_read_timeout in the socket location to 120s"


def test_hs002_a_ping_above_the_edges_idle_timeout_gets_every_quiet_socket_cut() -> None:
    slow = handshake(packet={**OPEN, "pingInterval": 120000})
    found = failure(hs.judge_ping_fits_timeouts, slow, edge_idle_s=100, nginx_read_s=None)
    assert "is not below the edge's idle timeout of 100 s" in found.message
    assert found.message.endswith("quiet sockets get cut every ping")
    assert "pingInterval + pingTimeout < 100 s" in found.fix
    both = failure(hs.judge_ping_fits_timeouts, slow, edge_idle_s=100, nginx_read_s=60)
    assert "the edge's idle timeout of 100 s nor nginx's proxy_read_timeout of 60 s" in both.message


def test_hs002_needs_something_to_compare_with_and_an_open_packet() -> None:
    with pytest.raises(NotApplicable, match="nothing to compare the ping timers with"):
        hs.judge_ping_fits_timeouts(handshake(packet=OPEN), edge_idle_s=None, nginx_read_s=None)
    assert (
        "no open packet" in failure(hs.judge_ping_fits_timeouts, handshake(), edge_idle_s=100, nginx_read_s=1).message
    )


# HS-003 ------------------------------------------------------------------------------------------


def test_hs003_a_101_with_the_open_packet_passes() -> None:
    assert hs.judge_upgrade(probe(first_message='0{"sid":"a"}'), ORIGIN).metrics == {"status": 101}


@pytest.mark.parametrize(
    ("answer", "words", "fix"),
    [
        (probe(400, body="Bad Request"), "got HTTP 400 instead of 101 (Bad Request)", c.HS_003.fix),
        (probe(101, first_message="hello"), "upgraded but sent no Engine.IO open packet (got 'hello')", c.HS_003.fix),
        (probe(403, {"cf-mitigated": "challenge"}, body=CHALLENGE), "was challenged (HTTP 403)", hs.CHALLENGE_FIX),
        (probe(None, {}, error="ClientConnectorError: refused"), "failed: ClientConnectorError: refused", c.HS_003.fix),
        (probe(403, body="Forbidden"), "the proxy passed the upgrade, the app refused the Origin", hs.ORIGIN_FIX),
    ],
)
def test_hs003_tells_a_dropped_upgrade_from_a_challenge_and_a_refusal(
    answer: UpgradeProbe, words: str, fix: str
) -> None:
    found = failure(hs.judge_upgrade, answer, ORIGIN)
    assert words in found.message
    assert (found.fix or c.HS_003.fix) == fix, "the plugin falls back to the check's fix when none is given"


def test_hs003_a_dropped_upgrade_blames_the_hop_that_drops_the_headers() -> None:
    found = failure(hs.judge_upgrade, probe(400, body='{"code": 3, "message": "Bad request"}'), ORIGIN)
    assert "(Bad request (Engine.IO error code 3)): something between the client and the app drops" in found.message


# HS-004, HS-005, HS-006 --------------------------------------------------------------------------


def test_hs004_a_challenge_on_either_probe_fails() -> None:
    ok = hs.judge_not_challenged(handshake(packet=OPEN), probe())
    assert ok.metrics == {"polling": 200, "websocket": 101}
    polling = failure(hs.judge_not_challenged, handshake(403, CHALLENGE), probe())
    assert "Cloudflare challenged the socket path (polling handshake: HTTP 403" in polling.message
    assert "socket.io is not down, a WAF or bot rule covers it" in polling.message
    upgrade = failure(hs.judge_not_challenged, handshake(packet=OPEN), probe(403, {"cf-mitigated": "challenge"}))
    assert "(WebSocket upgrade: HTTP 403" in upgrade.message


@pytest.mark.parametrize("cached", ["HIT", "miss", "STALE", "EXPIRED", "UPDATING", "REVALIDATED"])
def test_hs005_any_cache_status_but_dynamic_or_bypass_fails(cached: str) -> None:
    found = failure(hs.judge_not_cached, handshake(headers={"cf-cache-status": cached}, packet=OPEN), probe())
    assert f'a cache rule covers the socket path: cf-cache-status {{"polling": "{cached}"}}' == found.message
    assert "bypass cache" in found.fix


def test_hs005_dynamic_bypass_or_absent_passes() -> None:
    for status in ("DYNAMIC", "BYPASS"):
        hs.judge_not_cached(handshake(headers={"cf-cache-status": status}), probe())
    assert hs.judge_not_cached(handshake(headers={}), probe(headers={})).metrics == {
        "cf-cache-status": {"polling": None, "websocket": None}
    }


def test_hs006_cf_ray_must_be_on_every_answer_that_has_headers() -> None:
    assert hs.judge_cf_ray(handshake(), probe()).metrics == {"cf-ray": "8f1-AMS"}
    found = failure(hs.judge_cf_ray, handshake(headers={"server": "nginx"}), probe(headers={"server": "nginx"}))
    assert "no cf-ray on the socket path (polling, websocket)" in found.message
    assert "DNS-only record" in found.message
    # A probe that got no answer at all has no headers to judge: only the polling one counts.
    assert "(polling)" in failure(hs.judge_cf_ray, handshake(headers={"server": "nginx"}), probe(None, {})).message


# HS-007 ------------------------------------------------------------------------------------------


def attempt(label: str, *, accepted: bool = False, refused: bool = True, reason: str = "") -> hs.CredentialAttempt:
    return hs.CredentialAttempt(label, accepted, refused, reason, "websocket" if accepted else "")


def test_hs007_refusals_by_the_server_pass_with_its_words() -> None:
    judgement = hs.judge_refusals(
        [attempt("no credentials", reason="authentication failed: no token"), attempt("forged credentials")]
    )
    assert judgement.metrics == {
        "refused": {"no credentials": "authentication failed: no token", "forged credentials": "(no reason given)"}
    }


def test_hs007_an_accepted_socket_fails() -> None:
    found = failure(hs.judge_refusals, [attempt("no credentials"), attempt("forged credentials", accepted=True)])
    assert found.message == "a socket connection with forged credentials was accepted (transport websocket)"
    assert "ConnectionRefusedError" in found.fix


def test_hs007_a_connection_that_failed_before_authentication_proves_nothing() -> None:
    found = failure(hs.judge_refusals, [attempt("no credentials", refused=False, reason="HTTP 403 challenge")])
    assert found.message == (
        "could not verify: the connection with no credentials failed before authentication (HTTP 403 challenge)"
    )
    assert c.HS_001.id in found.fix
    assert c.HS_003.id in found.fix
