"""Browser checks: two real Chromium contexts and a watcher client, through the edge and nginx."""

from __future__ import annotations

import re

import pytest

from realtime_verify.checks.realtime import check_websocket_transport
from realtime_verify.errors import CheckFailure, WaitTimeout
from realtime_verify.metrics import LatencySeries
from realtime_verify.pages import AppPage
from realtime_verify.plugin import ConnectWatcher, OpenApp, RunState, CheckMetrics
from realtime_verify.target import Target

RENDER_TIMEOUT_S = 5.0
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
        found = check_websocket_transport(
            await page.rv.snapshot(),
            rv_target.profile.expected_ws_url,
            page.name,
            await page.status_text(),
            page.console,
        )
        rv_metrics.values[f"{page.name} socket"] = found["url"]
        rv_metrics.values[f"{page.name} upgrade_ms"] = found["upgrade_ms"]


async def _chat_round(
    sender: AppPage, receiver: AppPage, label: str, count: int, rv_run: RunState, rv_metrics: CheckMetrics
) -> LatencySeries:
    """Send `count` marked messages one after the other; measure each in the pages."""
    markers = []
    for _ in range(count):
        marker = rv_run.markers.next()
        markers.append(marker)
        await sender.send_chat(f"realtime-verify {marker}")
        await receiver.rv.wait_rendered(marker, RENDER_TIMEOUT_S)
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
        exact = re.compile(re.escape(marker) + r"(?!\d)")
        hits = [i for i, text in enumerate(texts) if exact.search(text)]
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
    try:
        a_to_b = await _chat_round(a, b, "A→B", samples, rv_run, rv_metrics)
        b_to_a = await _chat_round(b, a, "B→A", samples, rv_run, rv_metrics)
    except WaitTimeout as error:
        raise CheckFailure("RT-002", str(error), fix=CHAT_FIX) from None
    fix = "find the slow hop: compare the frame and rendered segments, then the edge and nginx"
    a_to_b.check_p95("RT-002", budget, fix)
    b_to_a.check_p95("RT-002", budget, fix)
