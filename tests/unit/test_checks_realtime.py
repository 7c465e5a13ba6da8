"""RT-* judgements on recorded observations: what the pages and the watcher saw in, an outcome out."""

from __future__ import annotations

from typing import Any

import pytest

from realtime_verify import catalogue as c
from realtime_verify.checks import realtime as rt
from realtime_verify.errors import CheckFailure, NotApplicable

EXPECTED = "wss://app.test:8443/socket.io/"


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


def transport(snap: dict[str, Any], status: str = "connected", console: list[str] | None = None) -> dict[str, Any]:
    return rt.judge_websocket_transport(snap, EXPECTED, "page A", status, console or [])


def failure(call: Any, *args: Any, **kwargs: Any) -> CheckFailure:
    with pytest.raises(CheckFailure) as raised:
        call(*args, **kwargs)
    return raised.value


# RT-001 ------------------------------------------------------------------------------------------


def test_rt001_an_upgraded_socket_to_the_expected_url_passes() -> None:
    found = transport(snapshot([socket()]))
    assert found == {"url": socket()["url"], "upgrade_ms": 15.0, "websocket_attempts": 1}
    assert transport(snapshot([socket(upgraded=None, openPacket=True)]))["upgrade_ms"] is None


@pytest.mark.parametrize(
    ("snap", "words"),
    [
        (snapshot([socket(opened=None, closed=1006.0)]), "1 WebSocket handshake(s) to wss://app.test:8443"),
        (snapshot([]), "never tried a WebSocket"),
        (snapshot([socket(upgraded=None)]), "the Engine.IO upgrade never completed"),
        (snapshot([socket("wss://other.test/socket.io/?EIO=4")]), "host other.test instead of app.test:8443"),
        (snapshot([socket("ws://app.test:8443/socket.io/?EIO=4")]), "scheme ws:// instead of wss://"),
        (snapshot([socket("wss://app.test:8443/ws/?EIO=4")], polls=0), "opened its socket on /ws/, not on /socket.io/"),
        (snapshot([], polls=0), "the page opened no socket at all"),
        (
            snapshot([], polls=4, failed=4, last={"status": 502, "url": "https://app.test/socket.io/?EIO=4"}),
            "every long-polling request failed (last: HTTP 502",
        ),
        (
            snapshot([socket("ws://app.test/socket.io/", opened=None, error="SecurityError: insecure WebSocket")], 0),
            "the browser refused to open ws://app.test/socket.io/: SecurityError",
        ),
    ],
)
def test_rt001_names_what_went_wrong(snap: dict[str, Any], words: str) -> None:
    message = failure(transport, snap, status="reconnecting").message
    assert message.startswith("page A: ")
    assert words in message


def test_rt001_a_socket_stuck_on_polling_says_so_and_points_at_the_upgrade_headers() -> None:
    stuck = failure(transport, snapshot([socket(opened=None, closed=1006.0, closeCode=1006)]))
    assert stuck.message.endswith("— the socket silently stays on long-polling")
    assert "proxy_set_header Upgrade $http_upgrade" in stuck.fix
    assert "close code 1006" in stuck.message


def test_rt001_a_connection_the_server_refused_quotes_it_and_clears_the_proxy() -> None:
    snap = snapshot([socket(upgraded=None, closed=1020.0)])
    snap["sio"] = {"connected": False, "error": '{"message":"authentication failed: no token"}'}
    refused = failure(transport, snap)
    assert "the server refused the page's Socket.IO connection: authentication failed: no token" in refused.message
    assert refused.fix == rt.REFUSED_FIX
    assert "silently stays on long-polling" not in refused.message


def test_rt001_a_handshake_still_pending_is_a_slow_path_not_a_missing_header() -> None:
    slow = failure(transport, snapshot([socket(opened=None, upgraded=None)], polls=5))
    assert "was still pending when the wait ended: the path is slow" in slow.message
    assert slow.fix == rt.SLOW_FIX
    assert "long-polling" not in slow.message


def test_rt001_a_page_that_never_opened_a_socket_quotes_its_console() -> None:
    console = ["log: booting", "error: [realtime] not connecting: NEXT_PUBLIC_ENABLE_WEBSOCKETS is false"]
    found = failure(transport, snapshot([], polls=0), "disabled", console)
    assert "its status says 'disabled'; console: error: [realtime] not connecting" in found.message
    assert "NEXT_PUBLIC_ENABLE_WEBSOCKETS=true" in found.fix


def test_rt001_a_wrong_url_points_at_the_build_variables() -> None:
    found = failure(transport, snapshot([socket("ws://other.test/socket.io/?EIO=4")]))
    assert "scheme ws:// instead of wss://; host other.test instead of app.test:8443" in found.message
    assert "NEXT_PUBLIC_WEBSOCKET_URL" in found.fix


# RT-002 ------------------------------------------------------------------------------------------


def delivery(
    n: int, sent: float | None = 0.0, received: float | None = 4.0, rendered: float | None = 7.0
) -> rt.Delivery:
    base = n * 100.0
    return rt.Delivery(
        f"rv-x-{n}",
        "page A",
        "page B",
        None if sent is None else base + sent,
        None if received is None else base + received,
        None if rendered is None else base + rendered,
    )


def chat_round(count: int = 5, **changes: Any) -> rt.ChatRound:
    deliveries = [delivery(n) for n in range(1, count + 1)]
    shown = [f"alice: realtime-verify rv-x-{n} ok" for n in range(1, count + 1)]
    return rt.ChatRound("A→B", "page A", "page B", changes.get("deliveries", deliveries), changes.get("shown", shown))


def test_rt002_every_message_once_in_order_within_budget_passes_with_latency() -> None:
    judgement = rt.judge_chat_rounds([chat_round()], budget_ms=250)
    frame, rendered = judgement.series
    assert (frame.name, frame.samples_ms) == ("chat A→B: send → frame", [4.0] * 5)
    assert (rendered.name, rendered.samples_ms, rendered.budget_ms) == ("chat A→B: send → rendered", [7.0] * 5, 250)


@pytest.mark.parametrize(
    ("lost", "words", "fix"),
    [
        (delivery(3, sent=None, received=None, rendered=None), "page A never sent it on its socket", "ui.chat_input"),
        (delivery(3, received=None, rendered=None), "page B never received a frame carrying it", c.RT_002.fix),
        (delivery(3, rendered=None), "page B received it but never rendered it", "ui.chat_message"),
    ],
)
def test_rt002_a_lost_message_names_the_hop_that_lost_it(lost: rt.Delivery, words: str, fix: str) -> None:
    chat = chat_round(deliveries=[delivery(1), delivery(2), lost])
    found = failure(rt.judge_chat_rounds, [chat], 250)
    assert found.message.startswith("rv-x-3 sent by page A: ")
    assert words in found.message
    assert fix in found.fix


def test_rt002_a_message_without_its_frames_says_how_it_came() -> None:
    resynced = delivery(2, received=None)
    resynced.drops = 2
    came = failure(rt.judge_chat_rounds, [chat_round(deliveries=[delivery(1), resynced], count=2)], 100.0)
    assert "no socket frame received it: the connection dropped 2 time(s) during the round" in came.message
    assert came.fix == rt.DROPS_FIX
    fetched = failure(rt.judge_chat_rounds, [chat_round(deliveries=[delivery(1, sent=None)], count=1)], 100.0)
    assert "no socket frame sent it: the page got it another way" in fetched.message


def test_rt002_a_message_shown_twice_or_out_of_order_fails() -> None:
    twice = chat_round(3, shown=["rv-x-1", "rv-x-2", "rv-x-2", "rv-x-3"])
    assert "rv-x-2 is shown 2 times in page B, not once" in failure(rt.judge_chat_rounds, [twice], 250).message
    missing = chat_round(3, shown=["rv-x-1", "rv-x-3"])
    assert "rv-x-2 is shown 0 times" in failure(rt.judge_chat_rounds, [missing], 250).message
    shuffled = chat_round(3, shown=["rv-x-2", "rv-x-1", "rv-x-3"])
    assert "shown out of order in page B" in failure(rt.judge_chat_rounds, [shuffled], 250).message


def test_rt002_markers_are_matched_exactly() -> None:
    # rv-x-1 is not rv-x-11: a page showing rv-x-11 does not show rv-x-1.
    chat = chat_round(1, shown=["realtime-verify rv-x-11 ok"])
    assert "rv-x-1 is shown 0 times" in failure(rt.judge_chat_rounds, [chat], 250).message


def test_rt002_over_budget_fails_and_keeps_every_series_for_the_report() -> None:
    slow = [delivery(n, rendered=400.0) for n in range(1, 6)]
    found = failure(rt.judge_chat_rounds, [chat_round(), chat_round(deliveries=slow)], 250)
    assert "chat A→B: send → rendered: p95 400.0 ms is over the budget of 250 ms" in found.message
    assert len(found.series) == 4, "both rounds' series reach the report, not only the failing one"


# RT-003 ------------------------------------------------------------------------------------------


def test_rt003_no_leak_passes_and_says_what_was_judged() -> None:
    judgement = rt.judge_tabs_and_leaks([delivery(1), delivery(2)], rt.LeakCheck("carol", 10, 0), "")
    assert judgement.metrics == {"deliveries": 2, "leak check": "user c saw none of 10 messages"}


def test_rt003_a_leak_to_a_third_user_fails() -> None:
    found = failure(rt.judge_tabs_and_leaks, [delivery(1)], rt.LeakCheck("carol", 10, 3), "")
    assert "user c (carol) received 3 of 10 message(s) of a direct chat between users a and b" in found.message
    assert "participants' rooms" in found.fix


def test_rt003_a_tab_that_misses_a_message_fails_before_the_leak_is_judged() -> None:
    found = failure(rt.judge_tabs_and_leaks, [delivery(1), delivery(2, rendered=None)], rt.LeakCheck("c", 1, 1), "")
    assert "rv-x-2 sent by page A: page B received it but never rendered it" in found.message


def test_rt003_without_a_third_user_says_why_the_leak_was_not_judged() -> None:
    judgement = rt.judge_tabs_and_leaks([delivery(1)], None, "no user c (auth.users.c)")
    assert judgement.metrics["leak check"] == "not judged: no user c (auth.users.c)"


# RT-004 ------------------------------------------------------------------------------------------


def step(via: str = "API", frames: int = 1, latency: float = 20.0, watcher: float | None = 15.0) -> rt.ItemStep:
    return rt.ItemStep(via, "ready", 1000.0, frames, 1000.0 + latency / 2, 1000.0 + latency, watcher and 1000 + watcher)


def test_rt004_updates_from_ui_and_api_pass_with_a_series_each() -> None:
    judgement = rt.judge_item_steps([step("UI"), step("API"), step("UI"), step("API")], "orders:update", 500)
    names = [s.name for s in judgement.series]
    assert names == [
        "item UI A→B: click → frame",
        "item UI A→B: click → rendered",
        "item API→B: request → frame",
        "item API→B: request → rendered",
        "item API→watcher: request → event",
    ]
    assert judgement.series[-1].samples_ms == [15.0, 15.0], "only API updates are timed at the watcher"


def test_rt004_an_update_received_twice_or_never_fails() -> None:
    assert "page B received 2 orders:update frames for one update (API → ready)" in (
        failure(rt.judge_item_steps, [step(frames=2)], "orders:update", 500).message
    )
    assert (
        "received 0 orders:update frames"
        in failure(rt.judge_item_steps, [step(frames=0)], "orders:update", 500).message
    )
    assert "items.statuses" in failure(rt.judge_item_steps, [], "orders:update", 500).message


def test_rt004_over_budget_fails() -> None:
    found = failure(rt.judge_item_steps, [step(latency=900.0)], "orders:update", 500)
    assert "item API→B: request → rendered: p95 900.0 ms is over the budget of 500 ms" in found.message


# RT-005 ------------------------------------------------------------------------------------------


def beats(count: int, every: float, start: float = 0.0) -> list[float]:
    return [start + n * every for n in range(count)]


def test_rt005_app_heartbeat_on_cadence_passes() -> None:
    judgement = rt.judge_app_heartbeat(beats(5, 500), beats(5, 500, 20), 500, "health:ping", "health:pong")
    assert judgement.metrics == {"pings": 5, "pongs": 5, "cadence ms": 500.0}


def test_rt005_pongs_that_stop_fail_naming_both_events() -> None:
    found = failure(rt.judge_app_heartbeat, beats(5, 500), [20.0], 500, "health:ping", "health:pong")
    # The last ping may still be in flight: four are judged.
    assert found.message == "4 health:ping sent, only 1 answered by health:pong within two intervals"
    assert found.fix == "answer health:ping with health:pong on the server"
    assert found.metrics == {"pings": 5, "pongs": 1}


def test_rt005_a_page_that_does_not_ping_or_pings_off_cadence_fails() -> None:
    silent = failure(rt.judge_app_heartbeat, [10.0], [], 500, "health:ping", "health:pong")
    assert "the page sent 1 health:ping" in silent.message
    assert "app.heartbeat = false" in silent.fix
    fast = failure(rt.judge_app_heartbeat, beats(5, 100), beats(5, 100, 5), 500, "hb", "hb_ack")
    assert fast.message == "the page pings every 0.10 s, configured 0.5 s (budgets.heartbeat_interval_s)"


def test_rt005_engineio_heartbeat_when_the_app_has_none() -> None:
    judgement = rt.judge_engineio_heartbeat(beats(3, 3000), beats(3, 3000, 2), 3000)
    assert judgement.metrics["heartbeat"] == "Engine.IO"
    assert judgement.metrics["cadence ms"] == 3000.0
    unanswered = failure(rt.judge_engineio_heartbeat, beats(3, 3000), [2.0], 3000)
    assert unanswered.message == "1 of 3 Engine.IO pings went unanswered by the page", "the last may still be answered"
    held = failure(rt.judge_engineio_heartbeat, [0.0], [], 3000)
    assert "something between the server and the page holds them" in held.message
    assert "proxy_buffering off" in held.fix
    late = failure(rt.judge_engineio_heartbeat, beats(3, 9000), beats(3, 9000, 2), 3000)
    assert "the server pings every 9.00 s, configured 3 s (the handshake's pingInterval)" in late.message


# RT-006 ------------------------------------------------------------------------------------------


def attribution(**changes: Any) -> rt.Attribution:
    values: dict[str, Any] = {
        "expected_sender": 1,
        "honest_sender": 1,
        "claimed_sender": 2,
        "spoof_ack": {"ok": False, "error": "sender_id does not match the authenticated user"},
        "spoof_ack_timed_out": False,
        "spoof_delivered_senders": [],
    }
    return rt.Attribution(**{**values, **changes})


@pytest.mark.parametrize(
    ("changes", "outcome"),
    [
        ({}, "refused"),
        ({"spoof_ack": {"ok": True}, "spoof_delivered_senders": [1, 1]}, "delivered with the true sender"),
        ({"spoof_ack": None, "spoof_ack_timed_out": True}, "dropped"),
    ],
)
def test_rt006_a_spoof_refused_overridden_or_dropped_passes(changes: dict[str, Any], outcome: str) -> None:
    assert rt.judge_attribution(attribution(**changes)).metrics["spoofed message"] == outcome


def test_rt006_a_spoof_believed_or_accepted_fails() -> None:
    believed = failure(rt.judge_attribution, attribution(spoof_ack={"ok": True}, spoof_delivered_senders=[2]))
    assert "claiming sender 2 (user b) and the server delivered it as from user b" in believed.message
    assert believed.fix == c.RT_006.fix
    accepted = failure(rt.judge_attribution, attribution(spoof_ack={"ok": True, "message": {}}))
    assert "the server accepted it: {'ok': True, 'message': {}}" in accepted.message


def test_rt006_a_message_attributed_to_someone_else_fails() -> None:
    found = failure(rt.judge_attribution, attribution(honest_sender=3))
    assert found.message == "a message sent by user a arrived with sender 3, not 1"


def test_rt006_messages_that_carry_no_sender_cannot_be_judged() -> None:
    with pytest.raises(NotApplicable, match=r"carry no sender at events\.chat_sender_path"):
        rt.judge_attribution(attribution(honest_sender=None))
