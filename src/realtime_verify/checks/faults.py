"""FT-*: judging how clients lived through forced faults (observations in, outcome out).

A `Recovery` is one client's story after a cut: when it noticed and why, each reconnection
attempt, when it was connected again and on which transport. The judgements say which client did
not come back, or came back slowly, or on long-polling, and the likely cause; every story goes into
the report as a timeline (times in ms since the cut).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from realtime_verify import catalogue as c
from realtime_verify.errors import CheckFailure
from realtime_verify.metrics import LatencySeries, percentile
from realtime_verify.outcome import Judgement

RECONNECT_FIX = c.FT_001.fix
# The instrumentation's and the watcher's event names, as the report's timelines say them.
TIMELINE_WORDS = {
    "disconnect": "disconnected",
    "ws-closing": "page closes its socket",
    "ws-close": "socket closed",
    "ws-created": "reconnecting (new socket)",
    "ws-open": "socket up, no session yet",
    "connect-error": "reconnecting (attempt refused)",
    "connect": "reconnected",
    "upgrade": "upgraded to websocket",
    "badge gone": "badge shows disconnected",
    "badge shown": "badge shows connected",
    "sw-controllerchange": "new service worker in control",
}


@dataclass
class Recovery:
    """One client after a cut: page ("page A") or watcher ("watcher c")."""

    client: str
    cut_at: float  # epoch ms
    events: list[dict[str, Any]] = field(default_factory=list)  # {t, what, detail}, epoch ms
    reconnected: bool = False
    transport: str = ""  # after reconnecting: websocket, polling, "" when unknown
    badge: str = ""  # what the connection badge did, "" when the page has none

    def after_cut(self) -> list[dict[str, Any]]:
        return [e for e in self.events if e["t"] >= self.cut_at - 5]

    def first(self, what: str) -> dict[str, Any] | None:
        return next((e for e in self.after_cut() if e["what"] == what), None)

    @property
    def noticed_ms(self) -> float | None:
        found = self.first("disconnect")
        return None if found is None else found["t"] - self.cut_at

    @property
    def reconnect_ms(self) -> float | None:
        found = self.first("connect")
        return None if found is None else found["t"] - self.cut_at

    @property
    def attempts(self) -> int:
        return sum(1 for e in self.after_cut() if e["what"] in ("ws-created", "connect-error", "connect"))

    def timeline(self) -> dict[str, Any]:
        """For the report: the client's story in words, in ms since the cut (t = 0)."""
        events = [{"t_ms": 0.0, "what": "cut", "detail": ""}]
        for event in self.after_cut():
            what = TIMELINE_WORDS.get(event["what"], event["what"])
            events.append(
                {"t_ms": round(event["t"] - self.cut_at, 1), "what": what, "detail": str(event.get("detail") or "")}
            )
        return {"client": self.client, "events": events}


def judge_recoveries(
    recoveries: Sequence[Recovery], budget_s: float, *, how: str, require_websocket: bool = True
) -> Judgement:
    """Every client noticed the cut, reconnected within budget, and (unless told not to) ended on websocket."""
    judgement = Judgement(timelines=[r.timeline() for r in recoveries], metrics={"fault": how})
    try:
        return _judge_recoveries(judgement, recoveries, budget_s, require_websocket)
    except CheckFailure as failure:
        failure.timelines = judgement.timelines
        raise


def _judge_recoveries(
    judgement: Judgement, recoveries: Sequence[Recovery], budget_s: float, require_websocket: bool
) -> Judgement:
    times = LatencySeries("reconnect after the cut", budget_ms=budget_s * 1000)
    for recovery in recoveries:
        if not recovery.reconnected or recovery.reconnect_ms is None:
            raise CheckFailure(_not_back(recovery, budget_s), fix=RECONNECT_FIX, metrics=judgement.metrics)
        if recovery.reconnect_ms > budget_s * 1000:
            raise CheckFailure(
                f"{recovery.client} reconnected {recovery.reconnect_ms / 1000:.1f} s after the cut, over"
                f" budgets.reconnect_s = {budget_s:g} s ({recovery.attempts} attempts)",
                fix="shorten the client's reconnection delays (socket.io-client reconnectionDelayMax)",
            )
        if require_websocket and recovery.transport and recovery.transport != "websocket":
            raise CheckFailure(
                f"{recovery.client} reconnected on {recovery.transport}, not websocket: the upgrade fails after a"
                " reconnect",
                fix=c.HS_003.fix,
            )
        times.add(recovery.reconnect_ms)
        judgement.metrics[f"{recovery.client} back after ms"] = round(recovery.reconnect_ms, 1)
        if recovery.badge and "never" in recovery.badge:
            judgement.warn(recovery.client, f"the connection badge {recovery.badge}", "update the badge on disconnect")
    judgement.series.append(times)
    return judgement


def _not_back(recovery: Recovery, budget_s: float) -> str:
    noticed = recovery.noticed_ms
    if noticed is None:
        return (
            f"{recovery.client} never noticed the cut and was not connected again {budget_s:g} s later: its"
            " socket is stuck (no close event reached the client)"
        )
    detail = (recovery.first("disconnect") or {}).get("detail") or ""
    tries = recovery.attempts
    if tries == 0:
        return (
            f"{recovery.client} noticed the cut at +{noticed:.0f} ms ({detail}) and never tried to reconnect:"
            " reconnection is off (socket.io-client `reconnection: false`) or the page called"
            " socket.disconnect()"
        )
    return (
        f"{recovery.client} noticed the cut at +{noticed:.0f} ms ({detail}) and made {tries} reconnection"
        f" attempt(s), none successful within budgets.reconnect_s = {budget_s:g} s"
    )


@dataclass
class Resync:
    """What a page shows, after reconnecting, of the updates made while it was cut off."""

    page: str
    sent: list[str]  # markers sent while it was away, in order
    shown: list[str]  # the page's chat texts after it reconnected and settled
    had: list[str] = field(default_factory=list)  # markers it showed before the cut: still once each
    items_missing: list[str] = field(default_factory=list)  # item markers it never showed


def judge_resync(resync: Resync, recovery: Recovery, budget_s: float, how: str) -> Judgement:
    """every update made while the page was away appears after it reconnects, once, in order."""
    judgement = judge_recoveries([recovery], budget_s, how=how, require_websocket=False)
    for marker in resync.had:
        count = sum(1 for text in resync.shown if marker in text)
        if count != 1:
            raise CheckFailure(
                f"{resync.page} shows {marker}, a message it had before the cut, {count} times after reconnecting:"
                " the resync re-applies what the page already had"
                if count > 1
                else f"{resync.page} lost {marker}, a message it showed before the cut, when it reconnected",
                fix="fetch only what is newer than the last id seen, and de-duplicate by id",
            )
    positions = []
    for marker in resync.sent:
        hits = [i for i, text in enumerate(resync.shown) if marker in text]
        if not hits:
            missing = [m for m in resync.sent if not any(m in text for text in resync.shown)]
            raise CheckFailure(
                f"{resync.page} reconnected but never showed {len(missing)} of the {len(resync.sent)} messages sent"
                f" while it was cut off ({', '.join(missing)}): the page does not fetch what it missed",
                fix=c.FT_002.fix,
            )
        if len(hits) > 1:
            raise CheckFailure(
                f"{resync.page} shows {marker} {len(hits)} times after reconnecting: the resync appends what the"
                " page already had",
                fix="de-duplicate by message id when applying the resync",
            )
        positions.append(hits[0])
    if positions != sorted(positions):
        raise CheckFailure(
            f"{resync.page} shows the messages it missed out of order after reconnecting", fix=c.FT_002.fix
        )
    if resync.items_missing:
        raise CheckFailure(
            f"{resync.page} reconnected but never showed the item update(s) made meanwhile"
            f" ({', '.join(resync.items_missing)})",
            fix=c.FT_002.fix,
        )
    judgement.metrics["missed while away"] = len(resync.sent)
    return judgement


def judge_half_open(recovery: Recovery, *, expected_s: float, bound_s: float, rule: str) -> Judgement:
    """a link that carries nothing (or only Engine.IO's pings) is detected and replaced."""
    judgement = Judgement(timelines=[recovery.timeline()])
    noticed = recovery.noticed_ms
    if noticed is None:
        raise CheckFailure(
            f"{recovery.client} never noticed that its link was dead within {bound_s:g} s ({rule}, expected about"
            f" {expected_s:g} s): a half-open connection stays open and silently loses every update",
            fix=c.FT_003.fix + "; if the app relies on Engine.IO's ping timeout alone, say budgets.missed_pongs = 0",
            timelines=judgement.timelines,
        )
    if not recovery.reconnected:
        raise CheckFailure(
            f"{recovery.client} dropped the dead link after {noticed / 1000:.1f} s but did not reconnect",
            fix=RECONNECT_FIX,
            timelines=judgement.timelines,
        )
    judgement.metrics.update(
        {
            "detected after s": round(noticed / 1000, 2),
            "expected about s": round(expected_s, 2),
            "rule": rule,
            "reconnected after s": round((recovery.reconnect_ms or 0) / 1000, 2),
        }
    )
    return judgement


def judge_idle(recoveries: Sequence[Recovery], window_s: float, timeouts: str) -> Judgement:
    """Idle connections stay up past every idle timeout on the path (and a ping Socket.IO tolerates)."""
    timelines = [r.timeline() for r in recoveries]
    for recovery in recoveries:
        cut = recovery.first("disconnect")
        if cut is not None:
            raise CheckFailure(
                f"{recovery.client}'s idle connection was cut {(cut['t'] - recovery.cut_at) / 1000:.1f} s into a"
                f" {window_s:g} s idle window ({cut.get('detail')}); on the path: {timeouts}",
                fix=c.FT_006.fix + " (nginx: proxy_read_timeout well above pingInterval + pingTimeout)",
                timelines=timelines,
            )
    return Judgement(metrics={"idle window s": window_s, "on the path": timeouts}, timelines=timelines)


STORM_FIX = "make connect handlers cheap and keep reconnection jitter (randomizationFactor > 0)"


def judge_storm(recoveries: Sequence[Recovery], budget_s: float, *, how: str) -> Judgement:
    """every client returns within budget; the distribution, and lockstep when there is no jitter."""
    back = [r.reconnect_ms for r in recoveries if r.reconnected and r.reconnect_ms is not None]
    late = [r for r in recoveries if not r.reconnected or r.reconnect_ms is None or r.reconnect_ms > budget_s * 1000]
    first_late = f"first: {late[0].client}: {_not_back(late[0], budget_s)}" if late else ""
    timelines = [r.timeline() for r in recoveries if r.client.startswith("page")]
    return _judge_reconnects(back, len(recoveries), len(late), first_late, budget_s, how, timelines)


def judge_locust_storm(
    samples_ms: Sequence[float],
    users: int,
    connected: int,
    budget_s: float,
    *,
    how: str,
    rate: float = 0.0,
    error: str | None = None,
) -> Judgement:
    """The storm run by Locust: the same judgement, from every Locust user's cut → back sample."""
    if error:
        raise CheckFailure(f"the Locust storm stopped early: {error}", fix="see the Locust logs in the artifacts")
    if connected < users:
        raise CheckFailure(
            f"only {connected} of {users} Locust users connected before the cut: {users - connected} connects"
            f" failed or timed out{f' at {rate:g} users/s' if rate else ''} (Locust's error report: the"
            " artifacts' locust/master.log); the server cannot take connections at a reconnect storm's rate",
            fix=f"{STORM_FIX}; check the server's and nginx's connection limits (worker_connections)",
            metrics={"clients": users, "connected": connected, "fault": how},
        )
    back = list(samples_ms)
    late = sum(1 for value in back if value > budget_s * 1000) + max(0, connected - len(back))
    first_late = f"{connected - len(back)} never came back" if connected > len(back) else ""
    return _judge_reconnects(back, connected, late, first_late, budget_s, how, [])


def _judge_reconnects(
    back_ms: Sequence[float],
    clients: int,
    late: int,
    first_late: str,
    budget_s: float,
    how: str,
    timelines: list[dict[str, Any]],
) -> Judgement:
    back = list(back_ms)
    metrics: dict[str, Any] = {"clients": clients, "back": len(back), "fault": how}
    if back:
        metrics.update(
            {
                "p50 ms": round(percentile(back, 50), 1),
                "p95 ms": round(percentile(back, 95), 1),
                "max ms": round(max(back), 1),
                "spread p5-p95 ms": round(percentile(back, 95) - percentile(back, 5), 1),
            }
        )
    judgement = Judgement(metrics=metrics, timelines=timelines)
    series = LatencySeries("storm: reconnect after the cut", budget_ms=budget_s * 1000)
    for value in back:
        series.add(value)
    judgement.series.append(series)
    if late:
        slowest = (
            f"; the slowest came back after {max(back) / 1000:.1f} s" if back and max(back) > budget_s * 1000 else ""
        )
        raise CheckFailure(
            f"{late} of {clients} clients were not back within budgets.reconnect_s = {budget_s:g} s"
            f" ({first_late or 'late'}{slowest})",
            fix=STORM_FIX,
            metrics=metrics,
        )
    if len(back) >= 20 and metrics["spread p5-p95 ms"] < 50:
        judgement.warn(
            "reconnect times",
            f"{len(back)} clients reconnected within {metrics['spread p5-p95 ms']} ms of each other: in lockstep,"
            " with no jitter to spread the load",
            "keep the client's randomizationFactor above 0",
        )
    return judgement
