"""Driving an app through its adapter and recording what happened: the observations checks judge.

The scenarios in tests/e2e stay a few lines each by calling these. Every wait is bounded and, when it
expires, the observation records what was missing (a message not sent, not received, not rendered),
so that the judgement (`checks.realtime`) can say which hop lost it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from realtime_verify.adapter import AppAdapter, Item, TestUser
from realtime_verify.checks.realtime import ChatRound, Delivery, ItemStep
from realtime_verify.errors import WaitTimeout
from realtime_verify.metrics import Markers, has_marker
from realtime_verify.pages import AppPage
from realtime_verify.watcher import ReceivedEvent, Watcher

RENDER_TIMEOUT_S = 5.0
T = TypeVar("T")


def chat_text(marker: str) -> str:
    """The text of a synthetic chat message: marked, so it is found (and removed) later.

    A word follows the marker: pages render a message beside other text (a time, a status), and
    `rv-x-1` directly followed by "5:05" would read as marker `rv-x-15`.
    """
    return f"realtime-verify {marker} message"


def item_title(marker: str) -> str:
    """The title of a synthetic order or task (a word after the marker, as for chat)."""
    return f"[realtime-verify] {marker} item"


async def deliveries(sender: AppPage, receivers: Sequence[AppPage], markers: Sequence[str]) -> list[Delivery]:
    """When each marker was sent by `sender`, received and rendered by each receiver (in-page times)."""
    sent = await sender.rv.marker_times(list(markers))
    found = []
    for receiver in receivers:
        seen = await receiver.rv.marker_times(list(markers))
        for marker in markers:
            found.append(
                Delivery(
                    marker,
                    sender.name,
                    receiver.name,
                    sent[marker].sent,
                    seen[marker].received,
                    seen[marker].rendered,
                )
            )
    return found


async def send_and_wait(
    adapter: AppAdapter, sender: AppPage, receivers: Sequence[AppPage], marker: str
) -> Delivery | None:
    """Send one marked message from `sender`'s UI; wait until every receiver shows it.

    Returns the delivery that never rendered (with its timestamps), or None when all did.
    """
    started = time.time() * 1000
    await adapter.send_chat(sender, chat_text(marker))
    for receiver in receivers:
        try:
            await receiver.rv.wait_rendered(marker, RENDER_TIMEOUT_S)
        except WaitTimeout:
            lost = (await deliveries(sender, [receiver], [marker]))[0]
            lost.sender_status = await adapter.status_text(sender)
            lost.drops = await _drops_since(sender, started) + await _drops_since(receiver, started)
            return lost
    return None


async def _drops_since(page: AppPage, t_ms: float) -> int:
    return sum(1 for e in await page.rv.timeline() if e["what"] == "disconnect" and e["t"] >= t_ms - 1000)


async def chat_round(
    adapter: AppAdapter, sender: AppPage, receiver: AppPage, label: str, count: int, markers: Markers
) -> ChatRound:
    """`count` marked messages from `sender` to `receiver`, one after the other."""
    chat = ChatRound(label, sender.name, receiver.name)
    started = time.time() * 1000
    sent = []
    for _ in range(count):
        marker = markers.next()
        sent.append(marker)
        lost = await send_and_wait(adapter, sender, [receiver], marker)
        if lost is not None:
            chat.deliveries = [*(await deliveries(sender, [receiver], sent[:-1])), lost]
            return chat
    chat.deliveries = await deliveries(sender, [receiver], sent)
    if any(d.sent is None or d.received is None for d in chat.deliveries):
        # Shown without its frames: did a dropped connection make it come by the resync?
        drops = await _drops_since(sender, started) + await _drops_since(receiver, started)
        for delivery in chat.deliveries:
            delivery.drops = drops
    chat.shown = await adapter.chat_texts(receiver)
    return chat


async def first_of(waits: Sequence[Awaitable[T]]) -> T:
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


def chat_carrying(adapter: AppAdapter, marker: str) -> Any:
    """A watcher predicate: a received chat event whose text carries `marker`."""

    def match(event: ReceivedEvent) -> bool:
        return has_marker(adapter.chat_text(event.name, event.data), marker)

    return match


async def chat_arrival(
    adapter: AppAdapter, watchers: Sequence[Watcher], marker: str, timeout_s: float = RENDER_TIMEOUT_S
) -> ReceivedEvent:
    """The first copy of the chat message carrying `marker` that any of the watchers receives."""
    return await first_of([w.wait_until(chat_carrying(adapter, marker), timeout_s, what=marker) for w in watchers])


def chat_copies(adapter: AppAdapter, watchers: Sequence[Watcher], marker: str) -> list[ReceivedEvent]:
    match = chat_carrying(adapter, marker)
    return [event for watcher in watchers for event in watcher.events if match(event)]


async def send_from_watcher(
    adapter: AppAdapter, watcher: Watcher, sender: TestUser, peer: TestUser, marker: str, *, spoof: Any = None
) -> Any:
    """Emit a marked chat message as `sender` (claiming `spoof` as its sender when given).

    Returns the server's acknowledgement, or None when it gives none within a few seconds.
    """
    event, payload = await adapter.chat_emit(sender, peer, chat_text(marker))
    if spoof is not None:
        payload = adapter.spoofed_chat(payload, spoof)
    try:
        return await watcher.emit(event, payload, timeout_s=3)
    except WaitTimeout:
        return None


async def item_steps(
    adapter: AppAdapter,
    user: TestUser,
    item: Item,
    marker: str,
    page_a: AppPage,
    page_b: AppPage,
    watcher: Watcher,
) -> list[ItemStep]:
    """Move `item` through its next statuses, alternately from page A's UI (when it can) and the API."""
    statuses = adapter.item_statuses()[1:5]
    steps = []
    for number, status in enumerate(statuses, start=1):
        frames_before = await _item_frames(adapter, page_b, marker)
        started = time.time() * 1000
        via = "API"
        if number % 2 == 1 and await adapter.advance_item(page_a, item):
            via = "UI"
            clicked = await page_a.rv.last_click()
            started = clicked if clicked is not None else started
        else:
            await adapter.update_item(user, item, status)
        rendered = await page_b.rv.wait_rendered(marker, RENDER_TIMEOUT_S, text=str(status))
        seen = await watcher.wait_until(
            _item_update(adapter, item, status), RENDER_TIMEOUT_S, f"item {item.id} → {status}"
        )
        frames = await _item_frames(adapter, page_b, marker)
        new = frames[len(frames_before) :]
        steps.append(
            ItemStep(
                via=via,
                status=str(status),
                started=started,
                frames_at_b=len(new),
                frame_at_b=new[-1] if new else None,
                rendered_at_b=rendered,
                at_watcher=seen.t_ms,
            )
        )
    return steps


def _item_update(adapter: AppAdapter, item: Item, status: Any) -> Callable[[ReceivedEvent], bool]:
    def match(event: ReceivedEvent) -> bool:
        update = adapter.item_event(event.name, event.data)
        return update is not None and update.id == item.id and update.status == status

    return match


async def _item_frames(adapter: AppAdapter, page: AppPage, marker: str) -> list[float]:
    """When `page` received item-update frames that carry `marker` (the item's title)."""
    frames = await page.rv.frames_carrying(marker)
    return [f["t"] for f in frames if f.get("dir") == "in" and adapter.is_item_event(str(f.get("event")))]
