"""SW-*: judging what the pages saw of their service worker (observations in, outcome out)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from realtime_verify import catalogue as c
from realtime_verify.errors import CheckFailure
from realtime_verify.outcome import Judgement


@dataclass
class TabUpdate:
    """One open tab during a service-worker update."""

    tab: str
    took_over_ms: float | None  # controllerchange after the new sw.js was served (None: never)
    banner: str | None  # the version banner's text afterwards (None: no banner configured)
    was_connected: bool
    reconnected: bool  # connected again (or never dropped) within budget
    # The registration when the wait ended: {"installing": state|None, "waiting": ..., "active": ...}.
    workers: dict[str, str | None] | None = None
    # The suite stopped the old worker while the new one waited (Chromium defers a requested activation
    # while the old worker is busy or starting; stopping it is what the browser's idle timeout does).
    stopped_old: bool = False


def judge_sw_update(tabs: Sequence[TabUpdate], version: str, budget_s: float) -> Judgement:
    """the new worker took over every open tab, each heard the version, sockets came back."""
    metrics = {}
    for tab in tabs:
        if tab.took_over_ms is None:
            raise CheckFailure(_not_taken_over(tab, budget_s), fix=_NOT_TAKEN_OVER_FIX)
        if tab.banner is not None and version not in tab.banner:
            raise CheckFailure(
                f"{tab.tab} never said it runs version {version} (its banner shows {tab.banner!r})",
                fix="broadcast the new version to open pages on controllerchange (BroadcastChannel)",
            )
        if tab.was_connected and not tab.reconnected:
            raise CheckFailure(
                f"{tab.tab}'s socket did not survive the update: not connected {budget_s:g} s later",
                fix=c.SW_001.fix,
            )
        metrics[f"{tab.tab} took over after ms"] = round(tab.took_over_ms, 1)
    if any(tab.stopped_old for tab in tabs):
        metrics["old worker stopped by the suite"] = True
    return Judgement(metrics={**metrics, "version": version})


_NOT_TAKEN_OVER_FIX = "post SKIP_WAITING to the waiting worker (and call clients.claim() in its activate event)"


def _not_taken_over(tab: TabUpdate, budget_s: float) -> str:
    """Why a tab kept its old worker, from the registration's state when the wait ended."""
    workers = tab.workers or {}
    lead = f"{tab.tab} kept the old service worker {budget_s:g} s after the update"
    if workers.get("waiting") and tab.stopped_old:
        return (
            f"{lead}: the new one stayed waiting although the old one was stopped (no controllerchange):"
            " nothing asked it to skip waiting"
        )
    if workers.get("waiting"):
        return f"{lead}: the new one stayed waiting (no controllerchange)"
    if workers.get("installing"):
        return f"{lead}: the new one was still installing (its install event did not finish: a precache fetch?)"
    if tab.workers is not None:
        return f"{lead}: the browser found no new worker after two update checks (is the new sw.js served?)"
    return f"{lead}: no controllerchange"


@dataclass
class SocketRequests:
    """What the page's socket-path requests looked like under its service worker."""

    controlled: bool
    requests: int
    from_service_worker: list[str]  # URLs the worker answered itself
    cached: list[str]  # socket-path entries in the page's Cache Storage


def judge_sw_bypass(seen: SocketRequests) -> Judgement:
    """the worker lets every socket request through to the network and caches none."""
    if not seen.controlled:
        raise CheckFailure(
            "the page never came under its service worker's control, so the check could not be made",
            fix="register the service worker on page load and call clients.claim() when it activates",
        )
    if seen.from_service_worker:
        raise CheckFailure(
            f"the service worker answered {len(seen.from_service_worker)} socket request(s) itself"
            f" ({seen.from_service_worker[0]}): long-polling through a worker adds latency and breaks when"
            " it caches or fails",
            fix=c.SW_002.fix,
        )
    if seen.cached:
        raise CheckFailure(f"the page's Cache Storage holds socket responses ({seen.cached[0]})", fix=c.SW_002.fix)
    return Judgement(metrics={"socket requests": seen.requests, "answered by the worker": 0})
