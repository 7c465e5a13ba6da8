"""Browser checks: two real Chromium contexts and a watcher client, through the edge and nginx."""

from __future__ import annotations

import asyncio
import itertools
import time
from typing import Any

import pytest
from playwright.async_api import TimeoutError as PlaywrightTimeout

from realtime_verify.checks.realtime import check_websocket_transport
from realtime_verify.errors import CheckFailure, WaitTimeout
from realtime_verify.metrics import LatencySeries, has_marker
from realtime_verify.pages import AppPage
from realtime_verify.plugin import CheckMetrics, ConnectWatcher, OpenApp, RunState
from realtime_verify.target import Target
from realtime_verify.watcher import ReceivedEvent, Watcher

RENDER_TIMEOUT_S = 5.0
UPGRADE_TIMEOUT_S = 3.0
CHAT_FIX = (
    "emit chat:message to both participants' rooms (every socket of each user joins a room named"
    " after the user) and render it on receipt"
)


@pytest.mark.check("RT-001")
@pytest.mark.smoke
@pytest.mark.signoff
@pytest.mark.nightly
async def test_pages_end_on_websocket(open_app: OpenApp, rv_target: Target, rv_metrics: CheckMetrics) -> None:
    """Both pages open their socket to the expected URL and end on transport websocket."""
    pages = [await open_app("a", "page A"), await open_app("b", "page B")]
    for page in pages:
        # Bounded: a page that stays on polling is judged (and explained) when the wait ends.
        await page.rv.wait_upgraded(rv_target.profile.socket_path, UPGRADE_TIMEOUT_S)
        found = check_websocket_transport(
            await page.rv.snapshot(),
            rv_target.profile.expected_ws_url,
            page.name,
            await page.status_text(),
            page.console,
        )
        rv_metrics.values[f"{page.name} socket"] = found["url"]
        rv_metrics.values[f"{page.name} upgrade_ms"] = found["upgrade_ms"]


async def wait_delivered(sender: AppPage, receiver: AppPage, marker: str, check_id: str) -> None:
    """Wait until `receiver` shows `marker`; if it never does, say which hop lost it."""
    try:
        await receiver.rv.wait_rendered(marker, RENDER_TIMEOUT_S)
    except WaitTimeout:
        sent = (await sender.rv.marker_times([marker]))[marker]
        seen = (await receiver.rv.marker_times([marker]))[marker]
        if sent.sent is None:
            why = f"{sender.name} never sent it on its socket (status: {await sender.status_text()!r})"
            fix = "check the page's send path and its connection"
        elif seen.received is None:
            why = f"{receiver.name} never received a frame carrying it: the server does not emit it to the recipient"
            fix = CHAT_FIX
        else:
            why = f"{receiver.name} received it but never rendered it"
            fix = "render chat:message events in the open conversation"
        raise CheckFailure(check_id, f"{marker} sent by {sender.name}: {why}", fix=fix) from None


async def _chat_round(
    sender: AppPage,
    receiver: AppPage,
    label: str,
    count: int,
    rv_run: RunState,
    rv_metrics: CheckMetrics,
) -> LatencySeries:
    """Send `count` marked messages one after the other; measure each in the pages."""
    markers = []
    for _ in range(count):
        marker = rv_run.markers.next()
        markers.append(marker)
        await sender.send_chat(f"realtime-verify {marker}")
        await wait_delivered(sender, receiver, marker, "RT-002")
    sent = await sender.rv.marker_times(markers)
    seen = await receiver.rv.marker_times(markers)
    frame = rv_metrics.latency(f"chat {label}: send → frame")
    rendered = rv_metrics.latency(f"chat {label}: send → rendered")
    for marker in markers:
        start, received, shown = sent[marker].sent, seen[marker].received, seen[marker].rendered
        if start is None or received is None or shown is None:
            raise CheckFailure("RT-002", f"chat {label}: {marker} has no send/receive/render timestamp")
        frame.add(received - start)
        rendered.add(shown - start)
    texts = await receiver.chat_texts()
    positions = []
    for marker in markers:
        hits = [i for i, text in enumerate(texts) if has_marker(text, marker)]
        if len(hits) != 1:
            raise CheckFailure(
                "RT-002",
                f"chat {label}: {marker} is shown {len(hits)} times in {receiver.name}, not once",
                fix="de-duplicate messages by id when rendering and when resyncing",
            )
        positions.append(hits[0])
    if positions != sorted(positions):
        raise CheckFailure("RT-002", f"chat {label}: messages are shown out of order in {receiver.name}")
    return rendered


@pytest.mark.check("RT-002")
@pytest.mark.smoke
@pytest.mark.signoff
@pytest.mark.nightly
async def test_chat_syncs_both_ways(
    open_app: OpenApp, rv_target: Target, rv_run: RunState, rv_metrics: CheckMetrics
) -> None:
    """Chat A→B and B→A: delivered once, in order, rendered; p95 within budget."""
    a, b = await open_app("a", "page A"), await open_app("b", "page B")
    await a.open_conversation(rv_target.user("b").username)
    await b.open_conversation(rv_target.user("a").username)
    samples = rv_target.profile.budgets.chat_samples
    budget = rv_target.profile.budgets.chat_p95_ms
    a_to_b = await _chat_round(a, b, "A→B", samples, rv_run, rv_metrics)
    b_to_a = await _chat_round(b, a, "B→A", samples, rv_run, rv_metrics)
    fix = "find the slow hop: compare the frame and rendered segments, then the edge and nginx"
    a_to_b.check_p95("RT-002", budget, fix)
    b_to_a.check_p95("RT-002", budget, fix)


@pytest.mark.check("RT-003")
@pytest.mark.signoff
@pytest.mark.nightly
async def test_same_user_tabs_and_direct_chat_without_leaks(
    open_app: OpenApp,
    connect_watcher: ConnectWatcher,
    rv_target: Target,
    rv_run: RunState,
    rv_metrics: CheckMetrics,
) -> None:
    """Same user in two browsers, and a direct chat between two users that a third never sees."""
    a1, a2 = await open_app("a", "page A1"), await open_app("a", "page A2")
    b = await open_app("b", "page B")
    user_a, user_b = rv_target.user("a").username, rv_target.user("b").username
    for page, peer in ((a1, user_b), (a2, user_b), (b, user_a)):
        await page.open_conversation(peer)
    third = await connect_watcher("c") if rv_target.has_user("c") else None
    markers = []
    for sender, receivers in ((a1, (a2, b)), (b, (a1, a2))):
        for _ in range(5):
            marker = rv_run.markers.next()
            markers.append(marker)
            await sender.send_chat(f"realtime-verify {marker}")
            for receiver in receivers:
                await wait_delivered(sender, receiver, marker, "RT-003")
    if third is None:
        rv_metrics.values["leak check"] = "skipped: no user c (auth.users.c)"
        return
    # A barrier, not a sleep: one connection delivers in order, so once user c receives a message
    # sent after all the others, anything leaked to c earlier has arrived too.
    c_id = await rv_target.user_id("c")
    if c_id is not None:
        barrier = rv_run.markers.next()
        a_watcher = await connect_watcher("a")
        await a_watcher.emit(
            rv_target.profile.events.chat_message,
            {"to": c_id, "text": f"realtime-verify {barrier}"},
        )
        await third.wait_for(
            rv_target.profile.events.chat_message,
            lambda d: has_marker(d.get("text"), barrier),
            timeout_s=5,
            what="the barrier message",
        )
    events = rv_target.profile.events
    leaked = [e for e in third.received(events.chat_message) if any(has_marker(e.data, m) for m in markers)]
    if leaked:
        raise CheckFailure(
            "RT-003",
            f"user c ({rv_target.user('c').username}) received {len(leaked)} message(s) of a direct chat"
            f" between {user_a} and {user_b}",
            fix="emit chat:message to the two participants' rooms only, never to everyone",
        )
    rv_metrics.values["leak check"] = f"user c saw none of {len(markers)} messages"


async def arrives_at_either(watchers: tuple[Watcher, ...], event: str, marker: str) -> ReceivedEvent:
    """The first copy of the message carrying `marker` that any of the watchers receives."""
    return await first_of(
        [
            w.wait_for(event, lambda d: has_marker(d.get("text"), marker), timeout_s=RENDER_TIMEOUT_S, what=marker)
            for w in watchers
        ]
    )


async def first_of(waits: list[Any]) -> Any:
    """The result of whichever wait finishes first; the error of the last one if all fail."""
    pending = {asyncio.ensure_future(wait) for wait in waits}
    error: BaseException | None = None
    while pending:
        done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            if task.exception() is None:
                for other in pending:
                    other.cancel()
                return task.result()
            error = task.exception()
    assert error is not None
    raise error


async def _order_frames(page: AppPage, marker: str, event: str) -> list[float]:
    frames = await page.rv.event_frames(event)
    return [f["t"] for f in frames if marker in (f.get("markers") or [])]


@pytest.mark.check("RT-004")
@pytest.mark.smoke
@pytest.mark.signoff
@pytest.mark.nightly
async def test_order_updates_reach_other_browser_and_watcher(
    open_app: OpenApp,
    connect_watcher: ConnectWatcher,
    rv_target: Target,
    rv_run: RunState,
    rv_metrics: CheckMetrics,
) -> None:
    """Order updates made in A's UI and through the API appear in B and at the watcher."""
    profile = rv_target.profile
    if not profile.api.orders:
        pytest.skip("api.orders is not configured: the target has no orders to verify")
    a, b = await open_app("a", "page A"), await open_app("b", "page B")
    watcher = await connect_watcher("c" if rv_target.has_user("c") else "b")
    event = profile.events.orders_update
    statuses = profile.api.order_statuses
    budget = profile.budgets.order_p95_ms
    fix = "after persisting an order change, emit orders:update to every client (emit_orders_update)"
    ui_frame, ui_render = (
        rv_metrics.latency("order UI A→B: click → frame"),
        rv_metrics.latency("order UI A→B: click → rendered"),
    )
    api_frame, api_watch = (
        rv_metrics.latency("order API→B: request → frame"),
        rv_metrics.latency("order API→watcher: request → event"),
    )
    async with rv_target.api(await rv_target.token("a")) as api:
        for _ in range(3):
            marker = rv_run.markers.next()
            order = await api.request("POST", profile.api.orders, {"title": f"[realtime-verify] {marker}"})
            order_path = profile.api.order.format(id=order["id"])

            async def delete(path: str = order_path) -> None:
                async with rv_target.api(await rv_target.token("a")) as cleanup_api:
                    await cleanup_api.request("DELETE", path, expect=(200, 204, 404))

            rv_run.cleanups.append(delete)
            try:
                await a.rv.wait_rendered(marker, RENDER_TIMEOUT_S)
                await b.rv.wait_rendered(marker, RENDER_TIMEOUT_S)
                # Two updates from A's UI, then two through the API.
                for step, status in enumerate(statuses[1:5], start=1):
                    before = time.time() * 1000
                    frames_before = len(await _order_frames(b, marker, event))
                    if step <= 2:
                        await a.advance_order(marker)
                    else:
                        await api.request("PATCH", order_path, {"status": status})
                    await b.rv.wait_rendered(marker, RENDER_TIMEOUT_S, text=status)
                    seen = await watcher.wait_for(
                        event,
                        lambda d, s=status, i=order["id"]: d.get("id") == i and d.get("status") == s,
                        timeout_s=RENDER_TIMEOUT_S,
                        what=f"order {order['id']} → {status}",
                    )
                    frames = await _order_frames(b, marker, event)
                    if len(frames) != frames_before + 1:
                        raise CheckFailure(
                            "RT-004",
                            f"page B received {len(frames) - frames_before} {event} frames for one update of {marker}",
                        )
                    rendered = next(e["t"] for e in await b.rv.render_log(marker) if status in e["text"])
                    if step <= 2:
                        clicked = await a.rv.last_click()
                        assert clicked is not None
                        ui_frame.add(frames[-1] - clicked)
                        ui_render.add(rendered - clicked)
                    else:
                        api_frame.add(frames[-1] - before)
                        api_watch.add(seen.t_ms - before)
            except WaitTimeout as error:
                raise CheckFailure("RT-004", str(error), fix=fix) from None
            finally:
                await delete()
                rv_run.cleanups.remove(delete)
    for series in (ui_render, api_frame, api_watch):
        series.check_p95("RT-004", budget, "find the slow hop: the app's emit, nginx buffering, the edge")


@pytest.mark.check("RT-005")
@pytest.mark.signoff
@pytest.mark.nightly
async def test_heartbeat_gets_pongs_at_the_configured_cadence(
    open_app: OpenApp, rv_target: Target, rv_metrics: CheckMetrics
) -> None:
    """The page's health:ping gets health:pong, at the configured cadence."""
    events = rv_target.profile.events
    interval_ms = rv_target.profile.budgets.heartbeat_interval_s * 1000
    page = await open_app("a", "page A")
    wanted = 4
    try:
        await page.page.wait_for_function(
            "([e, n]) => window.__rv.frames.filter(f => f.dir === 'out' && f.event === e).length >= n",
            arg=[events.health_ping, wanted],
            timeout=interval_ms * (wanted + 2),
        )
    except PlaywrightTimeout:
        sent = len(await page.rv.event_frames(events.health_ping, "out"))
        raise CheckFailure(
            "RT-005",
            f"the page sent {sent} {events.health_ping} in {interval_ms * (wanted + 2) / 1000:g} s, expected {wanted}"
            f" (one every {interval_ms / 1000:g} s, budgets.heartbeat_interval_s)",
            fix="send health:ping on a timer while connected",
        ) from None
    pings = [f["t"] for f in await page.rv.event_frames(events.health_ping, "out")]
    pongs = [f["t"] for f in await page.rv.event_frames(events.health_pong, "in")]
    answered = sum(1 for ping in pings[:-1] if any(ping < pong < ping + interval_ms for pong in pongs))
    rv_metrics.values.update({"pings": len(pings), "pongs": len(pongs)})
    if answered < len(pings) - 1:
        raise CheckFailure(
            "RT-005",
            f"{len(pings)} {events.health_ping} sent, only {answered} answered by {events.health_pong}"
            " within one interval",
            fix="answer health:ping with health:pong (echo id and ts) on the server",
        )
    gaps = [later - earlier for earlier, later in itertools.pairwise(pings)]
    median = sorted(gaps)[len(gaps) // 2]
    rv_metrics.values["ping cadence ms"] = round(median, 1)
    if not 0.75 * interval_ms <= median <= 1.5 * interval_ms:
        raise CheckFailure(
            "RT-005",
            f"the page pings every {median / 1000:.2f} s, configured {interval_ms / 1000:g} s",
            fix="align the heartbeat timer with budgets.heartbeat_interval_s (or the profile with the app)",
        )


@pytest.mark.check("RT-006")
@pytest.mark.smoke
@pytest.mark.signoff
@pytest.mark.nightly
async def test_server_attributes_chat_to_the_authenticated_user(
    connect_watcher: ConnectWatcher, rv_target: Target, rv_run: RunState
) -> None:
    """The server attributes chat messages to the authenticated user; a spoofed sender_id is rejected."""
    event = rv_target.profile.events.chat_message
    a_id, b_id = await rv_target.user_id("a"), await rv_target.user_id("b")
    if a_id is None or b_id is None:
        pytest.skip("the login answer carries no user.id, so the suite cannot address a direct message")
    alice, bob = await connect_watcher("a"), await connect_watcher("b")
    honest = rv_run.markers.next()
    await alice.emit(event, {"to": b_id, "text": f"realtime-verify {honest}"})
    # Attribution, not delivery (RT-002 covers that): the first copy that arrives, at either end.
    received = await arrives_at_either((alice, bob), event, honest)
    if received.data.get("sender_id") != a_id:
        raise CheckFailure(
            "RT-006",
            f"a message sent by user a arrived with sender_id {received.data.get('sender_id')!r}, not {a_id!r}",
        )
    spoofed = rv_run.markers.next()
    try:
        ack = await alice.emit(event, {"to": a_id, "text": f"realtime-verify {spoofed}", "sender_id": b_id})
    except TimeoutError:
        ack = None  # an app that does not acknowledge: judge by what was delivered
    # Barrier: a message sent after the spoof arrives after anything the server emitted for it.
    barrier = rv_run.markers.next()
    await alice.emit(event, {"to": b_id, "text": f"realtime-verify {barrier}"})
    await arrives_at_either((alice, bob), event, barrier)
    delivered = [e for w in (alice, bob) for e in w.received(event, lambda d: has_marker(d.get("text"), spoofed))]
    accepted = isinstance(ack, dict) and ack.get("ok") is not False
    if accepted or any(e.data.get("sender_id") == b_id for e in delivered):
        raise CheckFailure(
            "RT-006",
            f"user a sent a chat message claiming sender_id {b_id!r} (user b) and the server accepted it: {ack!r}",
            fix="take the sender from the authenticated socket session, and reject a payload whose sender_id differs",
        )
