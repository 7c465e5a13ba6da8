"""HS-*: judging what the live probes of the socket endpoint answered (`realtime_verify.probes`).

A refusal is told apart from a broken proxy by the server's own words: Engine.IO answers a refused
Origin with HTTP 400/403 and an error body, while a proxy that drops the Upgrade header turns the
WebSocket request into a plain GET the server rejects as a bad request.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from realtime_verify import catalogue as c
from realtime_verify.errors import CheckFailure, NotApplicable
from realtime_verify.outcome import Judgement
from realtime_verify.probes import Handshake, UpgradeProbe

CACHED_STATUSES = {"HIT", "MISS", "STALE", "EXPIRED", "UPDATING", "REVALIDATED"}
CHALLENGE_FIX = (
    "exclude the socket path from the WAF/Bot rule that challenges it (in the rule expression:"
    ' `and not starts_with(http.request.uri.path, "/socket.io/")`), or add a skip rule for it;'
    " a browser's socket.io client cannot solve a challenge"
)
ORIGIN_FIX = (
    "make the Origin the server compares match the site: behind nginx forward `Host $http_host` and"
    " `X-Forwarded-Proto $scheme`, or list the site in the server's allowed origins (python-socketio:"
    " cors_allowed_origins; Node socket.io: cors.origin / allowRequest)"
)


def engineio_error(status: int | None, body: str) -> str | None:
    """The server's own refusal, when the answer is an Engine.IO error (`{"code", "message"}` or text)."""
    if status not in (400, 403):
        return None
    text = body.strip()
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if isinstance(data, dict) and "message" in data:
        return f"{data.get('message')} (Engine.IO error code {data.get('code')})"
    return text[:160] or None


def refused_origin(status: int | None, body: str) -> str | None:
    """The server's words when it refused the Origin, else None.

    python-engineio says "<origin> is not an accepted origin."; Node's engine.io answers a refused
    request with code 4 "Forbidden" (JSON on polling, plain text on the WebSocket upgrade). A proxy
    that drops Upgrade gets "Bad request" (code 3) or "Invalid websocket upgrade" instead.
    """
    error = engineio_error(status, body)
    if error is None:
        return None
    lowered = error.lower()
    return error if "origin" in lowered or lowered.startswith("forbidden") else None


def judge_open_packet(handshake: Handshake, origin: str) -> Judgement:
    """the polling handshake (with the site's Origin) returns an EIO 4 open packet offering websocket."""
    if handshake.challenged:
        raise CheckFailure(
            f"Cloudflare challenged the handshake {handshake.url} (HTTP {handshake.status},"
            " cf-mitigated: challenge), so no client can connect",
            fix=CHALLENGE_FIX,
        )
    if handshake.open_packet is None:
        refusal = refused_origin(handshake.status, handshake.body)
        if refusal:
            raise CheckFailure(
                f"the server refused the browser's Origin {origin} (HTTP {handshake.status}: {refusal}):"
                " the Host or scheme it sees differs from the page's, or the site is not an allowed origin",
                fix=ORIGIN_FIX,
            )
        raise CheckFailure(
            f"{handshake.url} answered HTTP {handshake.status} without an Engine.IO open packet:"
            f" {handshake.body.strip()[:120]!r}",
            fix=c.HS_001.fix,
        )
    packet = handshake.open_packet
    if "websocket" not in packet.get("upgrades", []):
        raise CheckFailure(
            f"the open packet offers upgrades {packet.get('upgrades')}, not websocket: clients stay on long-polling",
            fix="allow upgrades on the server (python-socketio: allow_upgrades=True, the default)",
        )
    return Judgement(
        metrics={"pingInterval_ms": packet.get("pingInterval"), "pingTimeout_ms": packet.get("pingTimeout")}
    )


def judge_ping_fits_timeouts(
    handshake: Handshake,
    *,
    edge_idle_s: float | None,
    nginx_read_s: float | None,
    nginx_where: str = "",
    suggested_read_timeout_s: int | None = None,
) -> Judgement:
    """pingInterval + pingTimeout stays below the edge's idle timeout and nginx's read timeout."""
    interval, timeout = handshake.ping_interval_s, handshake.ping_timeout_s
    if interval is None or timeout is None:
        raise CheckFailure(f"no open packet, so no ping interval to judge (see {c.HS_001})")
    if edge_idle_s is None and nginx_read_s is None:
        raise NotApplicable(
            "nothing to compare the ping timers with: the target is not behind Cloudflare"
            " (target.behind_cloudflare) and nginx's read timeout is unknown (config_files.nginx or"
            " budgets.nginx_read_timeout_s)"
        )
    silence = interval + timeout
    problems, fixes = [], []
    if edge_idle_s is not None and silence >= edge_idle_s:
        problems.append(f"the edge's idle timeout of {edge_idle_s:g} s")
        fixes.append(f"lower pingInterval so that pingInterval + pingTimeout < {edge_idle_s:g} s")
    if nginx_read_s is not None and silence >= nginx_read_s:
        where = f" ({nginx_where})" if nginx_where else ""
        problems.append(f"nginx's proxy_read_timeout of {nginx_read_s:g} s{where}")
        suggested = suggested_read_timeout_s or max(120, int(2 * silence))
        fixes.append(f"set proxy_read_timeout in the socket location to {suggested}s")
    metrics = {
        "pingInterval_s": interval,
        "pingTimeout_s": timeout,
        "edge_idle_s": edge_idle_s,
        "nginx_read_s": nginx_read_s,
    }
    if problems:
        cut = " — quiet sockets get cut every ping" if edge_idle_s is not None and interval >= edge_idle_s else ""
        raise CheckFailure(
            f"pingInterval {interval:g} s + pingTimeout {timeout:g} s = {silence:g} s is not below "
            + " nor ".join(problems)
            + f": a late ping gets a socket cut{cut}",
            fix="; ".join(fixes),
            metrics=metrics,
        )
    return Judgement(metrics=metrics)


def judge_upgrade(probe: UpgradeProbe, origin: str) -> Judgement:
    """a direct WebSocket connection to the socket path upgrades (101) and gets the open packet."""
    if probe.status == 101 and probe.first_message and probe.first_message.startswith("0{"):
        return Judgement(metrics={"status": 101})
    if probe.status == 101:
        raise CheckFailure(f"{probe.url} upgraded but sent no Engine.IO open packet (got {probe.first_message!r})")
    if probe.challenged:
        raise CheckFailure(
            f"the WebSocket upgrade to {probe.url} was challenged (HTTP {probe.status})", fix=CHALLENGE_FIX
        )
    if probe.status is None:
        raise CheckFailure(f"the WebSocket upgrade to {probe.url} failed: {probe.error}")
    refusal = refused_origin(probe.status, probe.body)
    if refusal:
        raise CheckFailure(
            f"the server refused the WebSocket upgrade from Origin {origin} (HTTP {probe.status}: {refusal}):"
            " the proxy passed the upgrade, the app refused the Origin",
            fix=ORIGIN_FIX,
        )
    raise CheckFailure(
        f"the WebSocket upgrade to {probe.url} got HTTP {probe.status} instead of 101"
        f" ({engineio_error(probe.status, probe.body) or probe.body.strip()[:80] or 'no body'}): something between"
        " the client and the app drops the Upgrade and Connection headers",
        fix=c.HS_003.fix,
    )


def judge_not_challenged(handshake: Handshake, probe: UpgradeProbe) -> Judgement:
    """neither the polling handshake nor the upgrade is challenged."""
    for name, challenged, status in (
        ("polling handshake", handshake.challenged, handshake.status),
        ("WebSocket upgrade", probe.challenged, probe.status),
    ):
        if challenged:
            raise CheckFailure(
                f"Cloudflare challenged the socket path ({name}: HTTP {status}, cf-mitigated: challenge):"
                " socket.io is not down, a WAF or bot rule covers it",
                fix=CHALLENGE_FIX,
            )
    return Judgement(metrics={"polling": handshake.status, "websocket": probe.status})


def judge_not_cached(handshake: Handshake, probe: UpgradeProbe) -> Judgement:
    """the socket path is not cached (cf-cache-status DYNAMIC, BYPASS or absent)."""
    statuses = {
        "polling": handshake.headers.get("cf-cache-status"),
        "websocket": probe.headers.get("cf-cache-status"),
    }
    cached = {k: v for k, v in statuses.items() if v and v.upper() in CACHED_STATUSES}
    if cached:
        raise CheckFailure(
            f"a cache rule covers the socket path: cf-cache-status {json.dumps(cached)}",
            fix="exclude the socket path from cache rules (Cache Rules: bypass cache for"
            ' `starts_with(http.request.uri.path, "/socket.io/")`)',
        )
    return Judgement(metrics={"cf-cache-status": statuses})


def judge_cf_ray(handshake: Handshake, probe: UpgradeProbe) -> Judgement:
    """responses on the socket path carry cf-ray (the traffic really goes through Cloudflare)."""
    missing = [
        name
        for name, headers in (("polling", handshake.headers), ("websocket", probe.headers))
        if "cf-ray" not in headers and headers
    ]
    if missing:
        raise CheckFailure(
            f"no cf-ray on the socket path ({', '.join(missing)}): the traffic does not go through"
            " Cloudflare (DNS-only record, or a socket URL that points at the origin)",
            fix=c.HS_006.fix,
        )
    return Judgement(metrics={"cf-ray": handshake.headers.get("cf-ray")})


@dataclass(frozen=True)
class CredentialAttempt:
    """A socket connection attempt with missing or forged credentials, and how it ended."""

    label: str  # "no credentials", "a forged token"
    accepted: bool
    refused: bool  # the server answered CONNECT_ERROR
    reason: str  # the server's words, or why the attempt failed before authentication
    transport: str = ""


def judge_refusals(attempts: Sequence[CredentialAttempt]) -> Judgement:
    """every attempt without valid credentials is refused by the server itself."""
    reasons: dict[str, Any] = {}
    for attempt in attempts:
        if attempt.accepted:
            raise CheckFailure(
                f"a socket connection with {attempt.label} was accepted (transport {attempt.transport})",
                fix=c.HS_007.fix + " (python-socketio: raise ConnectionRefusedError('authentication failed'))",
            )
        if not attempt.refused:
            raise CheckFailure(
                f"could not verify: the connection with {attempt.label} failed before authentication"
                f" ({attempt.reason})",
                fix=f"make the socket path reachable first (see {c.HS_001} and {c.HS_003})",
            )
        reasons[attempt.label] = attempt.reason or "(no reason given)"
    return Judgement(metrics={"refused": reasons})
