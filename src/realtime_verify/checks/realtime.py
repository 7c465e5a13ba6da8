"""RT-*: judging what the pages and the watcher observed (no browser here: observations in, outcome out).

The scenarios in tests/e2e drive the app through its adapter and record observations (a page's
socket snapshot, when each marked message was sent, received and rendered, what a third user saw);
these functions judge them and say, when a check does not hold, which hop lost what and the fix.

Long on purpose: the RT checks share their vocabulary (hops, segments, markers, budgets), and one
module keeps a check's judgement next to the helpers that name a lost hop.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from realtime_verify import catalogue as c
from realtime_verify.errors import CheckFailure, NotApplicable
from realtime_verify.metrics import LatencySeries, has_marker
from realtime_verify.outcome import Judgement

ORIGIN_FIX = (
    "make the server accept the site's Origin: behind nginx forward `Host $http_host` and"
    " `X-Forwarded-Proto $scheme`, or list the site in its allowed origins"
)
UPGRADE_FIX = (
    "in nginx's socket location set `proxy_http_version 1.1;`, "
    "`proxy_set_header Upgrade $http_upgrade;` and `proxy_set_header Connection $connection_upgrade;` "
    "(with the `map $http_upgrade $connection_upgrade` block); on Cloudflare turn WebSockets on"
)


def _refusal(poll: dict[str, Any]) -> str | None:
    """The server's words when a long-polling request was refused for its Origin."""
    body = str(poll.get("body") or "")
    status = poll.get("status")
    if status not in (400, 403) or not body:
        return None
    lowered = body.lower()
    return body.strip()[:160] if "origin" in lowered or "forbidden" in lowered else None


def _socket_attempts(snapshot: dict[str, Any]) -> list[dict[str, Any]]:
    sockets: list[dict[str, Any]] = snapshot.get("sockets", [])
    return sockets


SLOW_FIX = (
    "find the slow hop (compare the page's timings with a request straight to the app), or raise"
    " target.connect_timeout_s if this slowness is expected"
)
REFUSED_FIX = (
    "the app's connect handler refused the page: check what the page sends it (session cookie, auth token)"
    " and the handler's own conditions; the proxy and the upgrade are not at fault"
)


@dataclass(frozen=True)
class Diagnosis:
    """Why a page's socket is not (or not properly) connected: one sentence, and its fix when known."""

    cause: str
    fix: str = ""

    def __str__(self) -> str:
        return self.cause


def _server_refusal(snapshot: dict[str, Any]) -> str | None:
    """The server's words when it answered the page's CONNECT with CONNECT_ERROR (and it is not connected)."""
    sio = snapshot.get("sio") or {}
    error = sio.get("error")
    if not error or sio.get("connected"):
        return None
    try:
        data = json.loads(error)
    except ValueError:
        return str(error)[:160]
    return str(data.get("message", data) if isinstance(data, dict) else data)[:160]


def diagnose_connection(snapshot: dict[str, Any], status_text: str, console: Sequence[str]) -> Diagnosis:
    """Why a page's socket is not (or not properly) connected, from its instrumentation snapshot."""
    sockets = _socket_attempts(snapshot)
    polls = int(snapshot.get("polls", 0))
    failed_polls = int(snapshot.get("pollsFailed", 0))
    server_refusal = _server_refusal(snapshot)
    if server_refusal:
        return Diagnosis(f"the server refused the page's Socket.IO connection: {server_refusal}", REFUSED_FIX)
    blocked = [s for s in sockets if s.get("error") and not s.get("opened") and "Error" in str(s["error"])]
    if blocked:
        s = blocked[-1]
        return Diagnosis(
            f"the browser refused to open {s['url']}: {s['error']}",
            "give the page a socket URL the browser may open (wss:// on an https page; allowed by the CSP's"
            " connect-src)",
        )
    if not sockets and polls == 0:
        errors = [line for line in console if "realtime" in line or "socket" in line.lower()]
        detail = f"; console: {errors[-1]}" if errors else ""
        return Diagnosis(
            f"the page opened no socket at all; its status says {status_text!r}{detail}",
            "make the page open its socket (NEXT_PUBLIC_ENABLE_WEBSOCKETS=true, a wss:// URL, the right path)",
        )
    last = snapshot.get("lastFailedPoll") or snapshot.get("lastPoll") or {}
    refusal = _refusal(last)
    if refusal:
        return Diagnosis(
            f"the server refused the page's requests (HTTP {last.get('status')}: {refusal}): it does not accept"
            " the page's Origin — the proxy is not at fault",
            ORIGIN_FIX,
        )
    if polls and failed_polls == polls:
        return Diagnosis(
            f"every long-polling request failed (last: HTTP {last.get('status')} {last.get('url')}"
            f"{': ' + str(last.get('body'))[:120] if last.get('body') else ''}); its status says {status_text!r}",
            "make the Socket.IO path answer (target.socket_path, nginx's location for it, the app's logs)",
        )
    opened = [s for s in sockets if s.get("opened")]
    pending = [s for s in sockets if not s.get("opened") and not s.get("closed")]
    if sockets and not opened and pending:
        return Diagnosis(
            f"the WebSocket handshake to {pending[-1]['url']} was still pending when the wait ended: the path is"
            " slow, not closed to WebSockets",
            SLOW_FIX,
        )
    if sockets and not opened:
        s = sockets[-1]
        return Diagnosis(
            f"{len(sockets)} WebSocket handshake(s) to {s['url']} failed (close code"
            f" {s.get('closeCode')}); something between the browser and the app refuses the upgrade",
            UPGRADE_FIX,
        )
    if polls and not sockets:
        return Diagnosis(
            f"the socket works over long-polling only ({polls} polls) and never tried a WebSocket",
            "let the client upgrade (no `transports: ['polling']`) and the server allow it (allow_upgrades)",
        )
    return Diagnosis(f"its status says {status_text!r}")


def judge_websocket_transport(
    snapshot: dict[str, Any],
    expected_ws_url: str,
    page_name: str,
    status_text: str,
    console: Sequence[str],
) -> dict[str, Any]:
    """For one page: its socket is an open WebSocket to the expected URL, past the upgrade."""
    expected = urlsplit(expected_ws_url)
    attempts = [s for s in _socket_attempts(snapshot) if urlsplit(s["url"]).path.startswith(expected.path)]
    live = [s for s in attempts if s.get("opened") and not s.get("closed")]
    elsewhere = [s for s in _socket_attempts(snapshot) if s not in attempts]
    if not live and elsewhere:
        raise CheckFailure(
            f"{page_name}: the page opened its socket on {urlsplit(elsewhere[-1]['url']).path}, not on {expected.path}",
            fix="make NEXT_PUBLIC_WEBSOCKET_PATH (the page) and the server's socketio_path agree"
            " (NEXT_PUBLIC_* values are baked in at build time: rebuild after changing them)",
        )
    if not live:
        diagnosis = diagnose_connection(snapshot, status_text, console)
        stuck_on_polling = int(snapshot.get("polls", 0)) > int(snapshot.get("pollsFailed", 0))
        upgrade_refused = diagnosis.fix == UPGRADE_FIX or (not diagnosis.fix and (stuck_on_polling or attempts))
        raise CheckFailure(
            f"{page_name}: no open WebSocket on {expected.path}: {diagnosis}"
            + (" — the socket silently stays on long-polling" if stuck_on_polling and upgrade_refused else ""),
            fix=diagnosis.fix
            or (
                UPGRADE_FIX
                if upgrade_refused
                else "make the page open its socket (NEXT_PUBLIC_ENABLE_WEBSOCKETS=true, a wss:// URL, the right path)"
            ),
        )
    ws = live[-1]
    if not (ws.get("upgraded") or ws.get("openPacket")):
        raise CheckFailure(
            f"{page_name}: a WebSocket to {ws['url']} is open but the Engine.IO upgrade never completed"
            " (no 3probe/5 exchange and no open packet)",
            fix="check that the socket.io server accepts the websocket transport (allow_upgrades)",
        )
    actual = urlsplit(ws["url"])
    problems = []
    if actual.scheme != expected.scheme:
        problems.append(f"scheme {actual.scheme}:// instead of {expected.scheme}://")
    if actual.netloc != expected.netloc:
        problems.append(f"host {actual.netloc} instead of {expected.netloc}")
    if not actual.path.startswith(expected.path):
        problems.append(f"path {actual.path} instead of {expected.path}")
    if problems:
        raise CheckFailure(
            f"{page_name}: the socket opened {ws['url']}: " + "; ".join(problems),
            fix="set NEXT_PUBLIC_WEBSOCKET_URL / NEXT_PUBLIC_WEBSOCKET_PATH (and rebuild: NEXT_PUBLIC_*"
            " values are baked in at build time), or target.expected_ws_url if this is intended",
        )
    upgrade_ms = None
    if ws.get("upgraded") and ws.get("created"):
        upgrade_ms = round(float(ws["upgraded"]) - float(ws["created"]), 1)
    return {"url": ws["url"], "upgrade_ms": upgrade_ms, "websocket_attempts": len(attempts)}


# Chat ------------------------------------------------------------------------------------------

CHAT_FIX = c.RT_002.fix


@dataclass
class Delivery:
    """One marked chat message from a sender page to a receiving page, timestamped in both pages."""

    marker: str
    sender: str
    receiver: str
    sent: float | None = None  # the frame left the sender (epoch ms, in the sender page)
    received: float | None = None  # a frame carrying it reached the receiver
    rendered: float | None = None  # it appeared in the receiver's DOM
    sender_status: str = ""  # what the sender page said of its connection, when it was lost
    drops: int = 0  # how often the sender's or receiver's connection dropped while it was on its way

    @property
    def lost(self) -> bool:
        return self.rendered is None


@dataclass
class ChatRound:
    """Marked messages sent one after the other from one page to another, and what the receiver shows."""

    label: str  # "A→B"
    sender: str
    receiver: str
    deliveries: list[Delivery] = field(default_factory=list)
    shown: list[str] = field(default_factory=list)  # the receiver's chat texts after the round


DROPS_FIX = "find what cuts the sockets (see the fault checks and the socket frame logs); resync after reconnecting"


def explain_lost(delivery: Delivery) -> CheckFailure:
    """Which hop lost a message, and the fix."""
    if delivery.drops:
        why = (
            f"the connection dropped {delivery.drops} time(s) while it was on its way (between"
            f" {delivery.sender} and {delivery.receiver}): messages sent while a socket is down are lost"
        )
        fix = DROPS_FIX
    elif delivery.sent is None:
        why = f"{delivery.sender} never sent it on its socket (its status: {delivery.sender_status!r})"
        fix = "check the page's send path (ui.chat_input, ui.chat_send or ui.send_key) and its connection"
    elif delivery.received is None:
        why = f"{delivery.receiver} never received a frame carrying it: the server does not emit it to the recipient"
        fix = CHAT_FIX
    else:
        why = f"{delivery.receiver} received it but never rendered it"
        fix = "render received chat events in the open conversation (and check ui.chat_message)"
    return CheckFailure(f"{delivery.marker} sent by {delivery.sender}: {why}", fix=fix)


def judge_chat_rounds(rounds: Sequence[ChatRound], budget_ms: float) -> Judgement:
    """every message delivered once, in order, rendered; the p95 of send → rendered within budget."""
    judgement = Judgement()
    for chat in rounds:
        frame = LatencySeries(f"chat {chat.label}: send → frame")
        rendered = LatencySeries(f"chat {chat.label}: send → rendered", budget_ms=budget_ms)
        for delivery in chat.deliveries:
            if delivery.lost:
                raise explain_lost(delivery)
            if delivery.sent is None or delivery.received is None or delivery.rendered is None:
                raise _unmeasured(chat, delivery)
            frame.add(delivery.received - delivery.sent)
            rendered.add(delivery.rendered - delivery.sent)
        _judge_once_in_order(chat)
        judgement.series += [frame, rendered]
    _check_budgets(judgement, "find the slow hop: compare the frame and rendered segments, then the edge and nginx")
    return judgement


def _unmeasured(chat: ChatRound, delivery: Delivery) -> CheckFailure:
    """A message shown without the socket frames that carry it: how it came, when that can be told."""
    missing = " and ".join(what for what, t in (("sent", delivery.sent), ("received", delivery.received)) if t is None)
    if delivery.drops:
        return CheckFailure(
            f"chat {chat.label}: {delivery.marker} was shown, but no socket frame {missing} it: the connection"
            f" dropped {delivery.drops} time(s) during the round and it came by the page's resync",
            fix=DROPS_FIX,
        )
    return CheckFailure(
        f"chat {chat.label}: {delivery.marker} was shown, but no socket frame {missing} it: the page got it"
        " another way (an HTTP request?), so its delivery cannot be timed",
        fix="send and deliver chat messages as Socket.IO events (events.chat_message); check target.socket_path",
    )


def _check_budgets(judgement: Judgement, fix: str) -> None:
    """Fail on the first p95 over its budget, carrying every series measured so far to the report."""
    try:
        for series in judgement.series:
            if series.budget_ms is not None:
                series.check_p95(series.budget_ms, fix)
    except CheckFailure as failure:
        failure.series = list(judgement.series)
        raise


def _judge_once_in_order(chat: ChatRound) -> None:
    positions = []
    for delivery in chat.deliveries:
        hits = [i for i, text in enumerate(chat.shown) if has_marker(text, delivery.marker)]
        if len(hits) != 1:
            raise CheckFailure(
                f"chat {chat.label}: {delivery.marker} is shown {len(hits)} times in {chat.receiver}, not once",
                fix="de-duplicate messages by id when rendering and when resyncing",
            )
        positions.append(hits[0])
    if positions != sorted(positions):
        raise CheckFailure(
            f"chat {chat.label}: messages are shown out of order in {chat.receiver}",
            fix="append messages in the order the server emits them (sort by id when re-rendering)",
        )


@dataclass
class LeakCheck:
    """What a third user saw while two others chatted directly (None: not judged, and why)."""

    third_user: str
    messages: int  # how many direct messages were sent meanwhile
    leaked: int


def judge_tabs_and_leaks(deliveries: Sequence[Delivery], leak: LeakCheck | None, not_judged: str) -> Judgement:
    """every tab of each participant shows every message; a third user sees none of them."""
    for delivery in deliveries:
        if delivery.lost:
            raise explain_lost(delivery)
    judgement = Judgement(metrics={"deliveries": len(deliveries)})
    if leak is None:
        judgement.metrics["leak check"] = f"not judged: {not_judged}"
        return judgement
    if leak.leaked:
        raise CheckFailure(
            f"user c ({leak.third_user}) received {leak.leaked} of {leak.messages} message(s) of a direct chat"
            " between users a and b",
            fix="emit a direct message to the two participants' rooms only, never to everyone",
        )
    judgement.metrics["leak check"] = f"user c saw none of {leak.messages} messages"
    return judgement


# Shared items --------------------------------------------------------------------------------------


@dataclass
class ItemStep:
    """One update of a synthetic item, from page A's UI or from the API, and what arrived where."""

    via: str  # "UI" or "API"
    status: str
    started: float  # epoch ms: the click in page A, or just before the API request
    frames_at_b: int  # frames page B received for this item and update
    frame_at_b: float | None
    rendered_at_b: float | None
    at_watcher: float | None


def judge_item_steps(steps: Sequence[ItemStep], event: str, budget_ms: float) -> Judgement:
    """every update reached page B once (frame and DOM) and the watcher; p95 within budget."""
    if not steps:
        raise CheckFailure("no item update was made (items.statuses needs at least two statuses)")
    series = {
        "UI": (
            LatencySeries("item UI A→B: click → frame"),
            LatencySeries("item UI A→B: click → rendered", budget_ms=budget_ms),
        ),
        "API": (
            LatencySeries("item API→B: request → frame"),
            LatencySeries("item API→B: request → rendered", budget_ms=budget_ms),
        ),
    }
    watcher = LatencySeries("item API→watcher: request → event", budget_ms=budget_ms)
    for step in steps:
        if step.frames_at_b != 1:
            raise CheckFailure(
                f"page B received {step.frames_at_b} {event} frames for one update ({step.via} → {step.status})",
                fix="emit one update per change (de-duplicate emits)",
            )
        frame, rendered = series[step.via]
        if step.frame_at_b is not None:
            frame.add(step.frame_at_b - step.started)
        if step.rendered_at_b is not None:
            rendered.add(step.rendered_at_b - step.started)
        if step.via == "API" and step.at_watcher is not None:
            watcher.add(step.at_watcher - step.started)
    judgement = Judgement(series=[s for pair in series.values() for s in pair if s.samples_ms])
    if watcher.samples_ms:
        judgement.series.append(watcher)
    _check_budgets(judgement, "find the slow hop: the app's emit, nginx buffering, the edge")
    return judgement


# Heartbeat ---------------------------------------------------------------------------------------------


def judge_app_heartbeat(
    pings: Sequence[float], pongs: Sequence[float], interval_ms: float, ping: str, pong: str
) -> Judgement:
    """With an app-level heartbeat: each ping answered within an interval, at the configured cadence."""
    if len(pings) < 2:
        raise CheckFailure(
            f"the page sent {len(pings)} {ping} in the time of several intervals of {interval_ms / 1000:g} s"
            " (budgets.heartbeat_interval_s)",
            fix=f"send {ping} on a timer while connected (or set app.heartbeat = false)",
        )
    # A pong is on time if it comes before the page would count its ping as missed: within two
    # intervals (the page checks at its next beat). The last ping may still be in flight.
    judged = pings[:-1]
    answered = sum(1 for sent in judged if any(sent < got < sent + 2 * interval_ms for got in pongs))
    metrics: dict[str, Any] = {"pings": len(pings), "pongs": len(pongs)}
    if answered < len(judged):
        raise CheckFailure(
            f"{len(judged)} {ping} sent, only {answered} answered by {pong} within two intervals",
            fix=f"answer {ping} with {pong} on the server",
            metrics=metrics,
        )
    return _cadence(pings, interval_ms, "the page pings", metrics, "budgets.heartbeat_interval_s")


def judge_engineio_heartbeat(pings: Sequence[float], pongs: Sequence[float], interval_ms: float) -> Judgement:
    """With no app-level heartbeat: Engine.IO's server pings arrive at pingInterval, each answered."""
    if len(pings) < 2:
        raise CheckFailure(
            f"the page received {len(pings)} Engine.IO pings in the time of several pingIntervals"
            f" ({interval_ms / 1000:g} s): something between the server and the page holds them",
            fix="check that nothing buffers the socket (nginx proxy_buffering off for the socket path)",
        )
    unanswered = sum(1 for got in pings[:-1] if not any(got <= sent < got + interval_ms for sent in pongs))
    metrics: dict[str, Any] = {"engine.io pings": len(pings), "pongs": len(pongs), "heartbeat": "Engine.IO"}
    if unanswered:
        raise CheckFailure(f"{unanswered} of {len(pings)} Engine.IO pings went unanswered by the page", metrics=metrics)
    return _cadence(pings, interval_ms, "the server pings", metrics, "the handshake's pingInterval")


def _cadence(times: Sequence[float], interval_ms: float, who: str, metrics: dict[str, Any], source: str) -> Judgement:
    gaps = sorted(later - earlier for earlier, later in itertools.pairwise(times))
    median = gaps[len(gaps) // 2]
    metrics["cadence ms"] = round(median, 1)
    if not 0.75 * interval_ms <= median <= 1.5 * interval_ms:
        raise CheckFailure(
            f"{who} every {median / 1000:.2f} s, configured {interval_ms / 1000:g} s ({source})",
            fix="align the heartbeat timer with the configured interval (or the profile with the app)",
            metrics=metrics,
        )
    return Judgement(metrics=metrics)


# Attribution -----------------------------------------------------------------------------------------


@dataclass
class Attribution:
    """What the server did with an honest message and a message claiming another sender."""

    expected_sender: Any
    honest_sender: Any  # the sender the first delivered copy names
    claimed_sender: Any
    spoof_ack: Any  # the server's acknowledgement of the spoofed message (None: no ack)
    spoof_ack_timed_out: bool
    spoof_delivered_senders: list[Any]  # the senders its delivered copies name


def judge_attribution(seen: Attribution) -> Judgement:
    """messages carry the authenticated sender; a claimed other sender is refused or overridden."""
    if seen.honest_sender is None:
        raise NotApplicable(
            "received chat messages carry no sender at events.chat_sender_path, so attribution cannot be judged"
        )
    if seen.honest_sender != seen.expected_sender:
        raise CheckFailure(
            f"a message sent by user a arrived with sender {seen.honest_sender!r}, not {seen.expected_sender!r}",
            fix=c.RT_006.fix,
        )
    accepted = (
        isinstance(seen.spoof_ack, dict) and seen.spoof_ack.get("ok") is not False and not seen.spoof_ack.get("error")
    )
    believed = [sender for sender in seen.spoof_delivered_senders if sender == seen.claimed_sender]
    if believed or (accepted and not seen.spoof_delivered_senders):
        raise CheckFailure(
            f"user a sent a chat message claiming sender {seen.claimed_sender!r} (user b) and the server"
            f" {'delivered it as from user b' if believed else f'accepted it: {seen.spoof_ack!r}'}",
            fix=c.RT_006.fix,
        )
    outcome = (
        "refused"
        if seen.spoof_ack is not None and not accepted
        else "delivered with the true sender"
        if seen.spoof_delivered_senders
        else "dropped"
    )
    return Judgement(
        metrics={"spoofed message": outcome, "ack": "none" if seen.spoof_ack_timed_out else seen.spoof_ack}
    )
