"""The named faults of the embedded stack, in one place: each a realistic breakage, one line each.

A fault lives in one layer: the reference app (`app`), its environment (`env`), its timers
(`timers`), the nginx conf (`nginx`), the edge emulator (`edge`) or the edge's zone settings as its
Cloudflare-shaped API reports them (`zone`). `breaks` lists the checks that
must fail when the fault is on; every other check must pass, except those in `may_break`, which a
fault can knock over as a timing-dependent consequence (each says why). The self-tests hold the
suite to both lists.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from realtime_verify.errors import UsageError

Layer = Literal["app", "env", "timers", "nginx", "edge", "zone"]

# Browser checks that need a page whose socket connects at all.
_PAGE_SOCKET = ("RT-001", "RT-002", "RT-003", "RT-004", "RT-005")


@dataclass(frozen=True)
class Fault:
    name: str
    layer: Layer
    summary: str
    breaks: tuple[str, ...]
    may_break: tuple[str, ...] = ()
    warns: tuple[str, ...] = ()  # checks whose finding is a warning by nature (CF-004, CF-006)


_CATALOGUE = [
    # nginx ---------------------------------------------------------------------------------------
    Fault(
        "nginx-no-upgrade",
        "nginx",
        "the socket location forwards no Upgrade/Connection headers: clients silently stay on polling",
        ("HS-003", "RT-001", "NGX-003"),
    ),
    Fault(
        "nginx-http-1.0",
        "nginx",
        # Measured: uvicorn still accepts the upgrade over HTTP/1.0, so only the audit sees it here;
        # servers that insist on HTTP/1.1 for an upgrade (many do) leave clients on polling.
        "the socket location lost proxy_http_version 1.1: nginx speaks HTTP/1.0 to the app",
        ("NGX-002",),
    ),
    Fault(
        "nginx-short-read-timeout",
        "nginx",
        "proxy_read_timeout is below pingInterval + pingTimeout: one late ping gets a socket cut",
        ("HS-002", "NGX-004"),
    ),
    Fault(
        "nginx-host-without-port",
        "nginx",
        "proxy_set_header Host $host drops the port: python-engineio rejects the browser's Origin",
        ("HS-001", "HS-003", *_PAGE_SOCKET, "NGX-005"),
    ),
    # the app's environment -----------------------------------------------------------------------
    Fault(
        "insecure-socket-url",
        "env",
        "NEXT_PUBLIC_WEBSOCKET_URL is ws:// on an https site: browsers block it as mixed content",
        (*_PAGE_SOCKET, "ENV-002"),
    ),
    Fault(
        "websockets-disabled",
        "env",
        "NEXT_PUBLIC_ENABLE_WEBSOCKETS is false: the page never opens its socket",
        (*_PAGE_SOCKET, "ENV-001"),
    ),
    Fault(
        "socket-path-mismatch",
        "env",
        "NEXT_PUBLIC_WEBSOCKET_PATH names a path the server does not serve (/ws)",
        (*_PAGE_SOCKET, "ENV-002"),
    ),
    Fault(
        "env-sources-disagree",
        "env",
        "the Kubernetes ConfigMap still holds an old NEXT_PUBLIC_WEBSOCKET_URL the .env no longer has",
        ("ENV-003",),
    ),
    # timers --------------------------------------------------------------------------------------
    Fault(
        "ping-above-edge-timeout",
        "timers",
        "the server's ping interval exceeds the edge's idle timeout (and nginx's): quiet sockets get cut",
        ("HS-002", "NGX-004"),
    ),
    # the edge ------------------------------------------------------------------------------------
    Fault(
        "edge-challenge-socket",
        "edge",
        "a WAF rule challenges /socket.io/ (403 with cf-mitigated: challenge): nothing connects",
        ("HS-001", "HS-002", "HS-003", "HS-004", "HS-007", *_PAGE_SOCKET, "RT-006", "CF-002"),
    ),
    Fault(
        "edge-cache-socket",
        "edge",
        "a cache rule covers /socket.io/ (cf-cache-status: HIT)",
        ("HS-005", "CF-005"),
    ),
    Fault(
        "edge-websockets-off",
        "edge",
        "the zone's WebSockets setting is off: upgrades never reach the origin, clients stay on polling",
        ("HS-003", "RT-001", "CF-001"),
    ),
    Fault(
        "edge-dns-only",
        "edge",
        "the record is DNS-only (grey cloud): traffic bypasses Cloudflare, no cf-ray",
        ("HS-006",),
    ),
    # the edge's zone, as its Cloudflare-shaped API reports it -------------------------------------
    Fault(
        "zone-bic-on-socket",
        "zone",
        "Browser Integrity Check is on zone-wide and the rule that turned it off for /socket.io/ is gone",
        ("CF-003",),
    ),
    Fault(
        "zone-bot-fight-mode",
        "zone",
        "Bot Fight Mode is on: it cannot be skipped for the socket path",
        (),
        warns=("CF-004",),
    ),
    Fault(
        "zone-argo-on",
        "zone",
        "Argo Smart Routing is on: it does not apply to WebSockets",
        (),
        warns=("CF-006",),
    ),
    # the app and its page ------------------------------------------------------------------------
    Fault(
        "no-broadcast",
        "app",
        "chat and order updates are emitted back to the sender only, never to others",
        ("RT-002", "RT-003", "RT-004"),
    ),
    Fault(
        "chat-leaks-to-all",
        "app",
        "chat messages are emitted to every connected client, not to the two participants",
        ("RT-003",),
    ),
    Fault(
        "no-resync",
        "app",
        "the page does not fetch what it missed after a reconnect",
        (),
    ),
    Fault(
        "duplicate-on-resync",
        "app",
        "the page appends resync results without de-duplicating them",
        (),
    ),
    Fault(
        "no-reconnect",
        "app",
        "the page's socket gives up after the first disconnect",
        (),
    ),
    Fault(
        "no-missed-pong-check",
        "app",
        "the page sends health:ping but never acts on missed pongs",
        (),
    ),
    Fault(
        "no-pong",
        "app",
        "the server ignores health:ping",
        ("RT-005",),
        # The page's missed-pong logic then drops and reconnects every few heartbeats; a chat or
        # order check that straddles a reconnect loses its message or its latency budget.
        may_break=("RT-002", "RT-003", "RT-004"),
    ),
    Fault(
        "sw-intercepts-socket",
        "app",
        "the service worker answers /socket.io/ requests itself",
        (),
    ),
    Fault(
        "sender-spoofable",
        "app",
        "the server trusts the sender_id a client puts in a chat message",
        ("RT-006",),
    ),
    Fault(
        "no-socket-auth",
        "app",
        "the server accepts socket connections without a valid token",
        ("HS-007",),
    ),
]

FAULTS: dict[str, Fault] = {fault.name: fault for fault in _CATALOGUE}


def resolve_faults(names: Iterable[str]) -> tuple[Fault, ...]:
    """The faults named, in catalogue order; an unknown name is a UsageError with a suggestion."""
    wanted = []
    for name in names:
        if name not in FAULTS:
            close = difflib.get_close_matches(name, FAULTS, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise UsageError(
                f"Unknown fault {name!r}.{hint} Known faults: {', '.join(FAULTS)}"
                " (`realtime-verify serve --list-faults` describes them)."
            )
        wanted.append(name)
    return tuple(fault for fault in _CATALOGUE if fault.name in wanted)


def in_layer(faults: Iterable[Fault], layer: Layer) -> set[str]:
    return {fault.name for fault in faults if fault.layer == layer}
