"""HS-*: live probes of the socket endpoint over HTTP and one raw WebSocket, no browser."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from realtime_verify.config import Profile
from realtime_verify.errors import CheckFailure
from realtime_verify.net import NetworkOptions
from realtime_verify.target import Handshake, handshake_url, is_challenge

CACHED_STATUSES = {"HIT", "MISS", "STALE", "EXPIRED", "UPDATING", "REVALIDATED"}
CHALLENGE_FIX = (
    "exclude the socket path from the WAF/Bot rule that challenges it (in the rule expression:"
    ' `and not starts_with(http.request.uri.path, "/socket.io/")`), or add a skip rule for it;'
    " a browser's socket.io client cannot solve a challenge"
)


@dataclass(frozen=True)
class UpgradeProbe:
    """A direct WebSocket connection to the socket path (transport=websocket)."""

    url: str
    status: int | None
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    first_message: str | None = None
    error: str | None = None

    @property
    def challenged(self) -> bool:
        return is_challenge(self.status, self.headers, self.body)


async def probe_upgrade(profile: Profile, network: NetworkOptions, origin: str, timeout_s: float = 5.0) -> UpgradeProbe:
    url = handshake_url(profile, "websocket")
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    async with network.session(timeout=timeout) as session:
        try:
            async with session.ws_connect(url, headers={"Origin": origin}, autoping=False) as ws:
                headers = {k.lower(): v for k, v in ws._response.headers.items()}
                try:
                    message = await ws.receive(timeout=timeout_s)
                    first = message.data if message.type == aiohttp.WSMsgType.TEXT else None
                except TimeoutError:
                    first = None
                return UpgradeProbe(url, 101, headers, first_message=first)
        except aiohttp.WSServerHandshakeError as error:
            headers = {k.lower(): v for k, v in (error.headers or {}).items()}
            return UpgradeProbe(url, error.status, headers, body=error.message or "", error=str(error))
        except (aiohttp.ClientError, TimeoutError) as error:
            return UpgradeProbe(url, None, error=f"{type(error).__name__}: {error}")


def check_open_packet(handshake: Handshake, origin: str) -> dict[str, Any]:
    """HS-001: the polling handshake (with the site's Origin) returns an EIO 4 open packet offering websocket."""
    if handshake.challenged:
        raise CheckFailure(
            "HS-001",
            f"Cloudflare challenged the handshake {handshake.url} (HTTP {handshake.status},"
            " cf-mitigated: challenge), so no client can connect",
            fix=CHALLENGE_FIX,
        )
    if handshake.open_packet is None:
        body = handshake.body.strip()[:120]
        if handshake.status == 400 and "accepted origin" in body.lower():
            raise CheckFailure(
                "HS-001",
                f"the server rejected the browser's Origin {origin} (HTTP 400 {body!r}): the Host or"
                " scheme it sees differs from the page's",
                fix="in nginx forward the port and scheme: `proxy_set_header Host $http_host;` and"
                " `proxy_set_header X-Forwarded-Proto $scheme` (behind Cloudflare: the edge's value);"
                " or list the site in the server's cors_allowed_origins",
            )
        raise CheckFailure(
            "HS-001",
            f"{handshake.url} answered HTTP {handshake.status} without an Engine.IO open packet: {body!r}",
            fix="serve socket.io (EIO 4) at target.socket_path",
        )
    packet = handshake.open_packet
    if "websocket" not in packet.get("upgrades", []):
        raise CheckFailure(
            "HS-001",
            f"the open packet offers upgrades {packet.get('upgrades')}, not websocket: clients stay on long-polling",
            fix="allow upgrades on the server (python-socketio: allow_upgrades=True, the default)",
        )
    return {
        "pingInterval_ms": packet.get("pingInterval"),
        "pingTimeout_ms": packet.get("pingTimeout"),
    }


def check_ping_fits_timeouts(
    handshake: Handshake,
    *,
    edge_idle_s: float | None,
    nginx_read_s: float | None,
    nginx_where: str = "",
) -> dict[str, Any]:
    """HS-002: pingInterval + pingTimeout stays below the edge's idle timeout and nginx's read timeout."""
    interval, timeout = handshake.ping_interval_s, handshake.ping_timeout_s
    if interval is None or timeout is None:
        raise CheckFailure("HS-002", "no open packet, so no ping interval to judge (see HS-001)")
    silence = interval + timeout
    problems, fixes = [], []
    if edge_idle_s is not None and silence >= edge_idle_s:
        problems.append(f"the edge's idle timeout of {edge_idle_s:g} s")
        fixes.append(f"lower pingInterval so that pingInterval + pingTimeout < {edge_idle_s:g} s")
    if nginx_read_s is not None and silence >= nginx_read_s:
        where = f" ({nginx_where})" if nginx_where else ""
        problems.append(f"nginx's proxy_read_timeout of {nginx_read_s:g} s{where}")
        fixes.append(
            f"set proxy_read_timeout in the socket location above {silence:g} s (e.g. {max(2 * silence, 60):g}s)"
        )
    metrics = {
        "pingInterval_s": interval,
        "pingTimeout_s": timeout,
        "edge_idle_s": edge_idle_s,
        "nginx_read_s": nginx_read_s,
    }
    if problems:
        cut = " — quiet sockets get cut every ping" if edge_idle_s is not None and interval >= edge_idle_s else ""
        raise CheckFailure(
            "HS-002",
            f"pingInterval {interval:g} s + pingTimeout {timeout:g} s = {silence:g} s is not below "
            + " nor ".join(problems)
            + f": a late ping gets a socket cut{cut}",
            fix="; ".join(fixes),
            metrics=metrics,
        )
    return metrics


def check_upgrade(probe: UpgradeProbe) -> dict[str, Any]:
    """HS-003: a direct WebSocket connection to the socket path upgrades (101) and gets the open packet."""
    if probe.status == 101 and probe.first_message and probe.first_message.startswith("0{"):
        return {"status": 101}
    if probe.status == 101:
        raise CheckFailure(
            "HS-003",
            f"{probe.url} upgraded but sent no Engine.IO open packet (got {probe.first_message!r})",
        )
    if probe.challenged:
        raise CheckFailure(
            "HS-003",
            f"the WebSocket upgrade to {probe.url} was challenged (HTTP {probe.status})",
            fix=CHALLENGE_FIX,
        )
    if probe.status is None:
        raise CheckFailure("HS-003", f"the WebSocket upgrade to {probe.url} failed: {probe.error}")
    from realtime_verify.checks.realtime import UPGRADE_FIX

    raise CheckFailure(
        "HS-003",
        f"the WebSocket upgrade to {probe.url} got HTTP {probe.status} instead of 101: something between"
        " the client and the app drops the Upgrade and Connection headers",
        fix=UPGRADE_FIX,
    )


def check_not_challenged(handshake: Handshake, probe: UpgradeProbe) -> None:
    """HS-004: neither the polling handshake nor the upgrade is challenged."""
    for name, challenged, status in (
        ("polling handshake", handshake.challenged, handshake.status),
        ("WebSocket upgrade", probe.challenged, probe.status),
    ):
        if challenged:
            raise CheckFailure(
                "HS-004",
                f"Cloudflare challenged the socket path ({name}: HTTP {status}, cf-mitigated: challenge):"
                " socket.io is not down, a WAF or bot rule covers it",
                fix=CHALLENGE_FIX,
            )


def check_not_cached(handshake: Handshake, probe: UpgradeProbe) -> dict[str, Any]:
    """HS-005: the socket path is not cached (cf-cache-status DYNAMIC, BYPASS or absent)."""
    statuses = {
        "polling": handshake.headers.get("cf-cache-status"),
        "websocket": probe.headers.get("cf-cache-status"),
    }
    cached = {k: v for k, v in statuses.items() if v and v.upper() in CACHED_STATUSES}
    if cached:
        raise CheckFailure(
            "HS-005",
            f"a cache rule covers the socket path: cf-cache-status {json.dumps(cached)}",
            fix="exclude the socket path from cache rules (Cache Rules: bypass cache for"
            ' `starts_with(http.request.uri.path, "/socket.io/")`)',
        )
    return {"cf-cache-status": statuses}


def check_cf_ray(handshake: Handshake, probe: UpgradeProbe) -> dict[str, Any]:
    """HS-006: responses on the socket path carry cf-ray (the traffic really goes through Cloudflare)."""
    missing = [
        name
        for name, headers in (("polling", handshake.headers), ("websocket", probe.headers))
        if "cf-ray" not in headers and headers
    ]
    if missing:
        raise CheckFailure(
            "HS-006",
            f"no cf-ray on the socket path ({', '.join(missing)}): the traffic does not go through"
            " Cloudflare (DNS-only record, or a socket URL that points at the origin)",
            fix="proxy the socket host through Cloudflare (orange cloud), or set target.behind_cloudflare = false",
        )
    return {"cf-ray": handshake.headers.get("cf-ray")}
