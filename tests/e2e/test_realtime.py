"""RT-*: two real Chromium contexts and a watcher client, through the edge and nginx, driven by the adapter.

Each scenario drives the app and records observations; the judgement is a pure function in
`realtime_verify.checks.realtime`. RT-001 and RT-004 only observe, so they share one logged-in pair of
pages (`shared_pages`), and RT-002, which opens a chat on them, takes it last: it runs after them.
"""

from __future__ import annotations

import asyncio

import pytest

from realtime_verify import catalogue as c
from realtime_verify import observe
from realtime_verify.adapter import AppAdapter, Item
from realtime_verify.checks import realtime as rt
from realtime_verify.errors import CheckFailure, WaitTimeout
from realtime_verify.metrics import Markers
from realtime_verify.run import CheckRecord
from realtime_verify.session import AppSession
from realtime_verify.target import Target


@pytest.mark.check(c.RT_001)
async def test_pages_end_on_websocket(
    rv_app: AppSession, rv_adapter: AppAdapter, rv_target: Target, rv_check: CheckRecord
) -> None:
    profile = rv_target.profile
    pages = await rv_app.shared_pages("a", "b")
    # Bounded: a page that stays on polling is judged (and explained) when the wait ends.
    waits = (page.rv.wait_upgraded(profile.socket_path, profile.target.connect_timeout_s) for page in pages)
    for result in await asyncio.gather(*waits, return_exceptions=True):  # both end before either error is raised
        if isinstance(result, BaseException):
            raise result
    for page in pages:
        found = rt.judge_websocket_transport(
            await page.rv.snapshot(),
            profile.expected_ws_url,
            page.name,
            await rv_adapter.status_text(page),
            page.console,
        )
        rv_check.metrics[f"{page.name} socket"] = found["url"]
        rv_check.metrics[f"{page.name} upgrade_ms"] = found["upgrade_ms"]


@pytest.mark.check(c.RT_004)
async def test_item_updates_reach_other_browser_and_watcher(
    rv_app: AppSession, rv_adapter: AppAdapter, rv_target: Target, rv_markers: Markers, rv_check: CheckRecord
) -> None:
    a, b = await rv_app.shared_pages("a", "b")
    watcher = await rv_app.watcher("c" if rv_adapter.has_user("c") else "b")
    user = rv_adapter.user("a")
    steps = []
    for _ in range(2):
        marker = rv_markers.next()
        item = await rv_adapter.create_item(user, observe.item_title(marker))

        async def delete(item: Item = item) -> None:
            await rv_adapter.delete_item(user, item)

        rv_check.on_cleanup(delete)
        try:
            await a.rv.wait_rendered(marker, observe.RENDER_TIMEOUT_S)
            await b.rv.wait_rendered(marker, observe.RENDER_TIMEOUT_S)
            steps += await observe.item_steps(rv_adapter, user, item, marker, a, b, watcher)
        except WaitTimeout as error:
            raise CheckFailure(str(error), fix=error.fix or c.RT_004.fix) from None
    profile = rv_target.profile
    rv_check.record(rt.judge_item_steps(steps, profile.items.event, profile.budgets.item_p95_ms))


@pytest.mark.check(c.RT_002)
async def test_chat_syncs_both_ways(
    rv_app: AppSession, rv_adapter: AppAdapter, rv_target: Target, rv_markers: Markers, rv_check: CheckRecord
) -> None:
    # Last of the checks that share these pages: opening a chat may navigate, so they close with it.
    a, b = await rv_app.shared_pages("a", "b", keep=False)
    await rv_adapter.open_chat(a, rv_adapter.user("b"))
    await rv_adapter.open_chat(b, rv_adapter.user("a"))
    budgets = rv_target.profile.budgets
    rounds = []
    for sender, receiver, label in ((a, b, "A→B"), (b, a, "B→A")):
        rounds.append(await observe.chat_round(rv_adapter, sender, receiver, label, budgets.chat_samples, rv_markers))
    rv_check.record(rt.judge_chat_rounds(rounds, budgets.chat_p95_ms))


@pytest.mark.check(c.RT_003)
async def test_same_user_tabs_and_direct_chat_without_leaks(
    rv_app: AppSession, rv_adapter: AppAdapter, rv_markers: Markers, rv_check: CheckRecord
) -> None:
    a1, a2, b = await rv_app.open_pages("a", "a", "b", names=("page A1", "page A2", "page B"))
    user_a, user_b = rv_adapter.user("a"), rv_adapter.user("b")
    for page, peer in ((a1, user_b), (a2, user_b), (b, user_a)):
        await rv_adapter.open_chat(page, peer)
    direct = rv_adapter.capabilities.chat == "direct"
    third = await rv_app.watcher("c") if direct and rv_adapter.has_user("c") else None
    sent, seen = [], []
    for sender, receivers in ((a1, (a2, b)), (b, (a1, a2))):
        for _ in range(5):
            marker = rv_markers.next()
            sent.append(marker)
            lost = await observe.send_and_wait(rv_adapter, sender, receivers, marker)
            if lost is not None:
                raise rt.explain_lost(lost)
        seen += await observe.deliveries(sender, receivers, sent[-5:])
    leak = None
    if third is not None:
        # A barrier, not a sleep: one connection delivers in order, so once user c receives a message
        # sent to it after all the others, anything leaked to c earlier has arrived too.
        barrier = rv_markers.next()
        writer = await rv_app.watcher("a", name="a (barrier)")
        await observe.send_from_watcher(rv_adapter, writer, user_a, rv_adapter.user("c"), barrier)
        await observe.chat_arrival(rv_adapter, [third], barrier)
        leaked = sum(len(observe.chat_copies(rv_adapter, [third], marker)) for marker in sent)
        leak = rt.LeakCheck(rv_adapter.user("c").name, len(sent), leaked)
    not_judged = (
        f"chat is {rv_adapter.capabilities.chat}: every member is meant to see every message"
        if not direct
        else "no user c (auth.users.c)"
    )
    rv_check.record(rt.judge_tabs_and_leaks(seen, leak, not_judged))


@pytest.mark.check(c.RT_005)
async def test_heartbeat_flows_at_the_configured_cadence(
    rv_app: AppSession, rv_adapter: AppAdapter, rv_target: Target, rv_check: CheckRecord
) -> None:
    profile = rv_target.profile
    page = await rv_app.page("a")
    if rv_adapter.capabilities.heartbeat:
        events, interval_ms = profile.events, profile.budgets.heartbeat_interval_s * 1000
        await page.rv.wait_frames("out", events.health_ping, 4, timeout_s=interval_ms * 6 / 1000)
        pings = [f["t"] for f in await page.rv.event_frames(events.health_ping, "out")]
        pongs = [f["t"] for f in await page.rv.event_frames(events.health_pong, "in")]
        rv_check.record(rt.judge_app_heartbeat(pings, pongs, interval_ms, events.health_ping, events.health_pong))
        return
    interval_ms = (rv_target.handshake.ping_interval_s or profile.budgets.ping_interval_s) * 1000
    await page.rv.wait_engineio_pings(3, timeout_s=interval_ms * 4.5 / 1000)
    pings, pongs = await page.rv.engineio_heartbeat()
    rv_check.record(rt.judge_engineio_heartbeat(pings, pongs, interval_ms))


@pytest.mark.check(c.RT_006)
async def test_server_attributes_chat_to_the_authenticated_user(
    rv_app: AppSession, rv_adapter: AppAdapter, rv_markers: Markers, rv_check: CheckRecord
) -> None:
    user_a, user_b = rv_adapter.user("a"), rv_adapter.user("b")
    alice, bob = await rv_app.watcher("a"), await rv_app.watcher("b")
    honest = rv_markers.next()
    await observe.send_from_watcher(rv_adapter, alice, user_a, user_b, honest)
    # Attribution, not delivery (RT-002 covers that): the first copy that arrives, at either end.
    first = await observe.chat_arrival(rv_adapter, (alice, bob), honest)
    claimed = await rv_adapter.sender_of(user_b)
    spoofed = rv_markers.next()
    # "From b to a", sent on a's socket: a server that trusted the claim would find nothing else wrong
    # with it (claiming b while writing to b would be refused as a message to oneself).
    ack = await observe.send_from_watcher(rv_adapter, alice, user_a, user_a, spoofed, spoof=claimed)
    # Barrier: a message sent after the spoof arrives after anything the server emitted for it.
    barrier = rv_markers.next()
    await observe.send_from_watcher(rv_adapter, alice, user_a, user_b, barrier)
    await observe.chat_arrival(rv_adapter, (alice, bob), barrier)
    delivered = observe.chat_copies(rv_adapter, (alice, bob), spoofed)
    seen = rt.Attribution(
        expected_sender=await rv_adapter.sender_of(user_a),
        honest_sender=rv_adapter.chat_sender(first.data),
        claimed_sender=claimed,
        spoof_ack=ack,
        spoof_ack_timed_out=ack is None,
        spoof_delivered_senders=[rv_adapter.chat_sender(event.data) for event in delivered],
    )
    rv_check.record(rt.judge_attribution(seen))
