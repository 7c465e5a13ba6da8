"""Cutting the suite's clients the way the target allows, and recording how each one came back.

Against the embedded stack (faults.allowed has "edge") the edge emulator drops every connection, as
Cloudflare does when it restarts its servers. Against any other target only the suite's own
connections are cut: each page's socket through Playwright's routing, each watcher's through its
local TCP proxy. Either way every client's recovery is recorded as a `Recovery` (checks.faults).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass

from realtime_verify import catalogue as c
from realtime_verify.catalogue import RunProfile
from realtime_verify.checks.faults import Recovery
from realtime_verify.config import Profile
from realtime_verify.errors import NotApplicable
from realtime_verify.faults.network import WatcherProxy
from realtime_verify.pages import AppPage
from realtime_verify.target import Target
from realtime_verify.watcher import Watcher

UPGRADE_TIMEOUT_S = 3.0
# A client whose wait is already over when it is looked at is still looked at once, for this long
# (Playwright reads a timeout of 0 as "no timeout").
LAST_LOOK_S = 1.0
# How long a fault check may take by default, per run profile (faults.max_check_s overrides).
MAX_CHECK_S = {RunProfile.SMOKE: 30.0, RunProfile.SIGNOFF: 60.0, RunProfile.NIGHTLY: 900.0}


@dataclass(frozen=True)
class Cut:
    """A fault applied: how, and when (epoch ms)."""

    how: str
    at: float


def now_ms() -> float:
    return time.time() * 1000


def time_allowed(profile: Profile, run_profile: RunProfile) -> float:
    return profile.faults.max_check_s or MAX_CHECK_S[run_profile]


def bound_check(expected_s: float, profile: Profile, run_profile: RunProfile, why: str) -> None:
    """Skip a fault check that would take longer than this run allows (the target's real timers)."""
    allowed = time_allowed(profile, run_profile)
    if expected_s > allowed:
        raise NotApplicable(
            f"it would take about {expected_s:.0f} s with this target's timers ({why}), more than the"
            f" {allowed:g} s a {run_profile.value} run allows for a fault check (faults.max_check_s);"
            " the nightly run, or a larger faults.max_check_s, runs it"
        )


def edge_allowed(target: Target) -> bool:
    return target.stack is not None and "edge" in target.profile.faults.allowed


async def require_websocket(page: AppPage) -> None:
    """The suite cuts and watches a page's connection through its WebSocket: a page left on
    long-polling can be neither, so a check that needs it is not judged (the transport check fails for it)."""
    if not await page.rv.wait_upgraded_after(0, UPGRADE_TIMEOUT_S):
        raise NotApplicable(
            f"{page.name} stays on long-polling, with no WebSocket to cut or watch ({c.RT_001.id} says why)"
        )


async def cut_everything(target: Target, pages: Sequence[AppPage], proxy: WatcherProxy | None) -> Cut:
    """Cut every connection of the suite's clients at once."""
    if edge_allowed(target):
        assert target.stack is not None
        at = now_ms()
        await target.stack.drop_all("rst")
        return Cut("the edge dropped every connection (RST), as Cloudflare does when it restarts", at)
    at = now_ms()
    for page in pages:
        assert page.cutter is not None, "open fault-check pages with cut=True"
        await page.cutter.cut()
    if proxy is not None:
        proxy.drop("rst")
    return Cut("each client's own connection was cut (client side: the target was not touched)", at)


async def page_recovery(page: AppPage, cut: Cut, connects_before: int, budget_s: float) -> Recovery:
    """Wait (bounded) for the page to be connected again, then record its story."""
    back = await page.rv.wait_connects(connects_before + 1, budget_s)
    transport = ""
    if back:
        transport = await _transport_after(page, cut)
    events = await page.rv.timeline()
    recovery = Recovery(page.name, cut.at, events, back, transport)
    recovery.badge = _badge(recovery)
    return recovery


async def _transport_after(page: AppPage, cut: Cut) -> str:
    upgraded = await page.rv.wait_upgraded_after(cut.at, UPGRADE_TIMEOUT_S)
    return "websocket" if upgraded else "polling"


def _badge(recovery: Recovery) -> str:
    seen = [e["what"] for e in recovery.after_cut() if e["what"].startswith("badge")]
    if not seen:
        return ""
    if "badge gone" not in seen:
        return "never showed the disconnect"
    return "showed the disconnect, then connected again" if seen[-1] == "badge shown" else "stayed disconnected"


async def watcher_recovery(watcher: Watcher, cut: Cut, connects_before: int, budget_s: float) -> Recovery:
    back = await watcher.wait_connects(connects_before + 1, budget_s)
    transport = watcher.transport if back else ""
    return Recovery(f"watcher {watcher.name}", cut.at, list(watcher.timeline), back, transport)


async def recoveries(
    cut: Cut,
    wait_s: float,
    pages: Sequence[tuple[AppPage, int]] = (),
    watchers: Sequence[tuple[Watcher, int]] = (),
) -> list[Recovery]:
    """Every client's recovery, waited for at once, each wait ending `wait_s` after the cut: a fault
    that keeps every client away costs one wait, not one per client. `pages` and `watchers` pair each
    client with its connect count before the cut; the recoveries come back in that order (pages
    first), so a judgement names the same client first whichever finished first."""
    left = max(wait_s - (now_ms() - cut.at) / 1000, LAST_LOOK_S)
    waits: list[Awaitable[Recovery]] = [page_recovery(page, cut, before, left) for page, before in pages]
    waits += [watcher_recovery(watcher, cut, before, left) for watcher, before in watchers]
    return await _all_of(waits)


async def _all_of(waits: Sequence[Awaitable[Recovery]]) -> list[Recovery]:
    """The results of every wait, in order; on the first error the other waits are cancelled (and
    awaited: none is left running into the check's teardown) and the error is raised."""
    tasks = [asyncio.ensure_future(wait) for wait in waits]
    try:
        return list(await asyncio.gather(*tasks))
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def cut_since(watcher: Watcher, cut: Cut) -> bool:
    """Whether the watcher has lost its connection since the cut (as the idle judgement reads it)."""
    return Recovery(f"watcher {watcher.name}", cut.at, list(watcher.timeline)).first("disconnect") is not None


async def next_ping(watcher: Watcher, timeout_s: float, cut: Cut) -> float | None:
    """When the watcher's next server ping arrived (epoch ms). None when none came within `timeout_s`,
    or when the watcher lost its connection since the cut: it does not reconnect, so no ping will come
    (and its idle window has failed already)."""
    if cut_since(watcher, cut):
        return None
    ping = asyncio.ensure_future(watcher.wait_ping(timeout_s))
    drop = asyncio.ensure_future(watcher.wait_disconnect(timeout_s))
    try:
        done, _ = await asyncio.wait((ping, drop), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (ping, drop):
            task.cancel()
        await asyncio.gather(ping, drop, return_exceptions=True)
    return ping.result() if ping in done else None
