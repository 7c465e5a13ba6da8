"""Waiting for the clients' recoveries after a cut (`disrupt.recoveries`), with stand-in clients: no
browser, no network."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, cast

import pytest

from realtime_verify import disrupt
from realtime_verify.checks import faults as ft
from realtime_verify.errors import CheckFailure
from realtime_verify.pages import AppPage
from realtime_verify.watcher import Watcher


@dataclass
class Clients:
    """What the stand-ins share: every wait started (by name) and the timeout each was given."""

    started: dict[str, asyncio.Event] = field(default_factory=dict)
    timeouts: dict[str, float] = field(default_factory=dict)
    cancelled: set[str] = field(default_factory=set)

    def event(self, name: str) -> asyncio.Event:
        return self.started.setdefault(name, asyncio.Event())


@dataclass
class FakeRv:
    name: str
    clients: Clients
    back: bool
    waits_for: str = ""  # another client whose wait must have started before this one ends
    fails: bool = False
    cut_at: float = 0.0

    async def wait_connects(self, count: int, timeout_s: float) -> bool:
        self.clients.timeouts[self.name] = timeout_s
        self.clients.event(self.name).set()
        if self.fails:
            raise RuntimeError(f"{self.name}: the browser went away")
        if self.waits_for:
            # Only a concurrent wait can see the other client's wait begin while this one is still open.
            try:
                await asyncio.wait_for(self.clients.event(self.waits_for).wait(), timeout_s)
            except asyncio.CancelledError:
                self.clients.cancelled.add(self.name)
                raise
        return self.back

    async def wait_upgraded_after(self, t_ms: float, timeout_s: float) -> bool:
        return True

    async def timeline(self) -> list[dict[str, Any]]:
        events = [{"t": self.cut_at + 5, "what": "disconnect", "detail": "transport close"}]
        if self.back:
            events.append({"t": self.cut_at + 700, "what": "connect", "detail": ""})
        return events


@dataclass
class FakePage:
    name: str
    rv: FakeRv


@dataclass
class FakeWatcher:
    name: str
    rv: FakeRv
    transport: str = "websocket"
    timeline: list[dict[str, Any]] = field(default_factory=list)

    async def wait_connects(self, count: int, timeout_s: float) -> bool:
        back = await self.rv.wait_connects(count, timeout_s)
        self.timeline = await self.rv.timeline()
        return back


def page(name: str, clients: Clients, cut: disrupt.Cut, **kwargs: Any) -> AppPage:
    return cast(AppPage, FakePage(name, FakeRv(name, clients, cut_at=cut.at, **kwargs)))


def watcher(name: str, clients: Clients, cut: disrupt.Cut, **kwargs: Any) -> Watcher:
    return cast(Watcher, FakeWatcher(name, FakeRv(f"watcher {name}", clients, cut_at=cut.at, **kwargs)))


async def test_every_client_is_waited_for_at_once_and_judged_in_the_order_given() -> None:
    clients = Clients()
    cut = disrupt.Cut("edge drop", disrupt.now_ms())
    # Page A's wait ends only once page B's has begun, and B's once the watcher's has: sequential
    # waits would time out instead.
    a = page("page A", clients, cut, back=False, waits_for="page B")
    b = page("page B", clients, cut, back=False, waits_for="watcher b")
    w = watcher("b", clients, cut, back=True)

    found = await disrupt.recoveries(cut, 5, pages=[(a, 1), (b, 1)], watchers=[(w, 1)])

    assert [r.client for r in found] == ["page A", "page B", "watcher b"]
    assert [r.reconnected for r in found] == [False, False, True]
    assert found[2].transport == "websocket"
    with pytest.raises(CheckFailure, match=r"page A noticed the cut at \+5 ms .* never tried to reconnect"):
        ft.judge_recoveries(found, 3, how=cut.how)


async def test_each_wait_ends_its_time_after_the_cut_not_after_it_began() -> None:
    clients = Clients()
    cut = disrupt.Cut("edge drop", disrupt.now_ms() - 4000)  # the cut was 4 s ago
    a = page("page A", clients, cut, back=True)

    await disrupt.recoveries(cut, 15, pages=[(a, 1)])

    assert 10 < clients.timeouts["page A"] <= 11


async def test_a_wait_already_over_still_looks_at_the_client_once() -> None:
    clients = Clients()
    cut = disrupt.Cut("edge drop", disrupt.now_ms() - 60_000)
    a = page("page A", clients, cut, back=True)

    (found,) = await disrupt.recoveries(cut, 15, pages=[(a, 1)])

    assert clients.timeouts["page A"] == disrupt.LAST_LOOK_S
    assert found.reconnected


async def test_an_error_in_one_wait_ends_the_others_and_is_raised() -> None:
    clients = Clients()
    cut = disrupt.Cut("edge drop", disrupt.now_ms())
    never = asyncio.Event()  # nobody sets it: page A waits until cancelled (or its 30 s timeout)
    clients.started["nobody"] = never
    a = page("page A", clients, cut, back=True, waits_for="nobody")
    b = page("page B", clients, cut, back=True, fails=True)

    with pytest.raises(RuntimeError, match="page B: the browser went away"):
        await asyncio.wait_for(disrupt.recoveries(cut, 30, pages=[(a, 1), (b, 1)]), 10)
    assert clients.cancelled == {"page A"}


@dataclass
class IdleWatcher:
    """A watcher stand-in whose next ping or disconnect the test decides (`ping` / `drop` events)."""

    name: str = "b"
    timeline: list[dict[str, Any]] = field(default_factory=list)
    ping: asyncio.Event = field(default_factory=asyncio.Event)
    drop: asyncio.Event = field(default_factory=asyncio.Event)
    waiting: asyncio.Event = field(default_factory=asyncio.Event)  # both waits have begun
    waits: int = 0

    async def wait_ping(self, timeout_s: float) -> float | None:
        self._began()
        try:
            await asyncio.wait_for(self.ping.wait(), timeout_s)
        except TimeoutError:
            return None
        return 1234.0

    async def wait_disconnect(self, timeout_s: float) -> bool:
        self._began()
        try:
            await asyncio.wait_for(self.drop.wait(), timeout_s)
        except TimeoutError:
            return False
        self.timeline.append({"t": disrupt.now_ms(), "what": "disconnect", "detail": "transport close"})
        return True

    def _began(self) -> None:
        self.waits += 1
        if self.waits == 2:
            self.waiting.set()


async def waiting_for_a_ping() -> tuple[IdleWatcher, disrupt.Cut, asyncio.Future[float | None]]:
    """An idle watcher, its cut, and `next_ping` waiting on it (both of its waits begun)."""
    idle = IdleWatcher()
    cut = disrupt.Cut("idle", disrupt.now_ms())
    waiting = asyncio.ensure_future(disrupt.next_ping(cast(Watcher, idle), 30, cut))
    await asyncio.wait_for(idle.waiting.wait(), 10)
    return idle, cut, waiting


async def test_the_next_ping_is_when_it_arrived() -> None:
    idle, _, waiting = await waiting_for_a_ping()
    idle.ping.set()
    assert await asyncio.wait_for(waiting, 10) == 1234.0


async def test_a_watcher_cut_while_waiting_for_a_ping_ends_the_wait() -> None:
    idle, cut, waiting = await waiting_for_a_ping()
    idle.drop.set()
    assert await asyncio.wait_for(waiting, 10) is None  # not after 30 s: no ping comes to a closed link
    assert disrupt.cut_since(cast(Watcher, idle), cut)


async def test_a_watcher_already_cut_since_the_cut_gets_no_wait_and_an_earlier_drop_does_not_count() -> None:
    cut = disrupt.Cut("idle", disrupt.now_ms())
    before = IdleWatcher(timeline=[{"t": cut.at - 2000, "what": "disconnect", "detail": "earlier"}])
    assert not disrupt.cut_since(cast(Watcher, before), cut)
    after = IdleWatcher(timeline=[{"t": cut.at + 2000, "what": "disconnect", "detail": "transport close"}])
    assert disrupt.cut_since(cast(Watcher, after), cut)
    assert await asyncio.wait_for(disrupt.next_ping(cast(Watcher, after), 30, cut), 10) is None
    assert after.waits == 0
