"""The checks' judgement on recorded observations (what pages and probes saw)."""

from __future__ import annotations

from typing import Any

import pytest

from realtime_verify.checks import handshake as hs
from realtime_verify.checks.realtime import check_websocket_transport, diagnose_connection
from realtime_verify.errors import CheckFailure
from realtime_verify.target import Handshake

EXPECTED = "wss://app.test:8443/socket.io/"
OPEN = {"sid": "x", "upgrades": ["websocket"], "pingInterval": 25000, "pingTimeout": 20000}


def socket(url: str = "wss://app.test:8443/socket.io/?EIO=4&transport=websocket&sid=x", **state: Any) -> dict[str, Any]:
    return {
        "url": url,
        "created": 1000.0,
        "opened": 1005.0,
        "closed": None,
        "error": None,
        "upgraded": 1015.0,
        "openPacket": None,
        **state,
    }


def snapshot(
    sockets: list[dict[str, Any]], polls: int = 3, failed: int = 0, last: dict[str, Any] | None = None
) -> dict[str, Any]:
    return {"sockets": sockets, "polls": polls, "pollsFailed": failed, "lastPoll": last}


def judge(snap: dict[str, Any], status: str = "connected") -> dict[str, Any]:
    return check_websocket_transport(snap, EXPECTED, "page A", status, [])


def test_an_upgraded_socket_to_the_expected_url_passes() -> None:
    assert judge(snapshot([socket()]))["upgrade_ms"] == 15.0


@pytest.mark.parametrize(
    ("snap", "words"),
    [
        (snapshot([socket(opened=None, closed=1006.0)]), "failed (close code"),
        (snapshot([]), "never tried a WebSocket"),
        (snapshot([socket(upgraded=None)]), "upgrade never completed"),
        (snapshot([socket("wss://other.test/socket.io/?EIO=4")]), "host other.test instead of app.test:8443"),
        (snapshot([socket("ws://app.test:8443/socket.io/?EIO=4")]), "scheme ws:// instead of wss://"),
        (snapshot([socket("wss://app.test:8443/ws/?EIO=4")], polls=0), "opened its socket on /ws/"),
        (snapshot([], polls=0), "opened no socket at all"),
        (
            snapshot([], polls=4, failed=4, last={"status": 403, "url": "https://app.test/socket.io/?EIO=4"}),
            "every long-polling request failed",
        ),
    ],
)
def test_rt001_names_what_went_wrong(snap: dict[str, Any], words: str) -> None:
    with pytest.raises(CheckFailure) as raised:
        judge(snap, status="reconnecting")
    assert words in raised.value.message
    assert raised.value.check_id == "RT-001"


def test_stuck_on_polling_says_so_and_points_at_the_upgrade_headers() -> None:
    with pytest.raises(CheckFailure) as raised:
        judge(snapshot([socket(opened=None, closed=1006.0, closeCode=1006)]))
    assert "silently stays on long-polling" in raised.value.message
    assert "proxy_set_header Upgrade" in raised.value.fix


def test_a_blocked_socket_is_diagnosed_as_refused_by_the_browser() -> None:
    blocked = socket("ws://app.test/socket.io/", opened=None, error="SecurityError: insecure WebSocket")
    assert "the browser refused to open" in diagnose_connection(snapshot([blocked], polls=0), "error", [])


def handshake(
    status: int = 200, body: str = "", headers: dict[str, str] | None = None, packet: dict[str, Any] | None = None
) -> Handshake:
    return Handshake("https://app.test/socket.io/?EIO=4&transport=polling", status, headers or {}, body, packet)


def test_hs001_recognises_an_origin_rejection_and_a_challenge() -> None:
    with pytest.raises(CheckFailure, match="rejected the browser's Origin"):
        hs.check_open_packet(handshake(400, '"Not an accepted origin."'), "https://app.test")
    with pytest.raises(CheckFailure, match="challenged"):
        hs.check_open_packet(
            handshake(403, "<title>Just a moment...</title>", {"cf-mitigated": "challenge"}), "https://app.test"
        )
    with pytest.raises(CheckFailure, match="not websocket"):
        hs.check_open_packet(handshake(packet={**OPEN, "upgrades": []}), "https://app.test")
    assert hs.check_open_packet(handshake(packet=OPEN), "https://app.test")["pingInterval_ms"] == 25000


def test_hs002_compares_ping_with_both_timeouts() -> None:
    ok = handshake(packet=OPEN)
    assert hs.check_ping_fits_timeouts(ok, edge_idle_s=100, nginx_read_s=120)["pingInterval_s"] == 25
    with pytest.raises(CheckFailure) as raised:
        hs.check_ping_fits_timeouts(ok, edge_idle_s=100, nginx_read_s=40, nginx_where="app.conf:31")
    assert "nginx's proxy_read_timeout of 40 s (app.conf:31)" in raised.value.message
    assert "above 45 s" in raised.value.fix
    slow = handshake(packet={**OPEN, "pingInterval": 120000})
    with pytest.raises(CheckFailure, match="quiet sockets get cut every ping"):
        hs.check_ping_fits_timeouts(slow, edge_idle_s=100, nginx_read_s=None)


def test_hs005_and_hs006_read_the_edge_headers() -> None:
    probe = hs.UpgradeProbe("wss://x", 101, {"cf-ray": "1-AMS"}, first_message="0{}")
    with pytest.raises(CheckFailure, match="cache rule covers the socket path"):
        hs.check_not_cached(handshake(packet=OPEN, headers={"cf-cache-status": "HIT"}), probe)
    hs.check_not_cached(handshake(packet=OPEN, headers={"cf-cache-status": "DYNAMIC"}), probe)
    with pytest.raises(CheckFailure, match="no cf-ray on the socket path"):
        hs.check_cf_ray(handshake(packet=OPEN, headers={"server": "nginx"}), probe)


def test_hs003_explains_a_refused_upgrade() -> None:
    with pytest.raises(CheckFailure, match="got HTTP 400 instead of 101"):
        hs.check_upgrade(hs.UpgradeProbe("wss://x", 400, {}, body="Bad Request"))
    assert hs.check_upgrade(hs.UpgradeProbe("wss://x", 101, {}, first_message='0{"sid":"a"}')) == {"status": 101}
