"""The named faults of the embedded stack, in one catalogue: each a realistic breakage, one line each.

A fault lives in one layer and says what it changes there, as data:

    app      a switch the reference app implements (its name is passed to the app as is)
    env      the NEXT_PUBLIC_* values the page is built with, and the sources the audit reads
    timers   the server's ping timers
    nginx    an edit of the reference nginx conf (`stack.nginx.NGINX_EDITS`)
    edge     the edge emulator's behaviour (`EdgeBehaviour`)
    zone     a scenario overlay of the emulated Cloudflare zone (`stack/zones/*.json`)

`build_settings()` folds the faults into typed settings for each layer once; the supervisor only
applies them. `breaks` lists the checks that must fail when the fault is on; every other check must
pass, except those in `may_break` (a timing-dependent consequence, each saying why). `warns` lists
checks whose finding is a warning by nature. The self-tests hold the suite to these lists.
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import StrEnum

from realtime_verify import catalogue as c
from realtime_verify.catalogue import Check, Family
from realtime_verify.errors import UsageError
from realtime_verify.stack.edge import EdgeBehaviour
from realtime_verify.stack.settings import PageEnv, Timers


class Layer(StrEnum):
    APP = "app"
    ENV = "env"
    TIMERS = "timers"
    NGINX = "nginx"
    EDGE = "edge"
    ZONE = "zone"


@dataclass(frozen=True)
class Fault:
    """One breakage: where it lives, what it changes, and which checks must catch it."""

    name: str
    layer: Layer
    summary: str
    breaks: tuple[Check, ...]
    may_break: tuple[Check, ...] = ()
    warns: tuple[Check, ...] = ()
    # The check families the fault can reach at all (None: every family). A zone overlay changes
    # only what the zone API answers; it cannot reach a browser. The self-tests run the rest only.
    reach: frozenset[Family] | None = None
    # The change, for the layer it lives in (app faults need none: the app implements the switch).
    page: Callable[[PageEnv], PageEnv] | None = None
    timers: Callable[[Timers], Timers] | None = None
    nginx_edit: str | None = None
    edge: dict[str, object] = field(default_factory=dict)
    zone_overlay: str | None = None


@dataclass(frozen=True)
class LayerSettings:
    """What the faults change, per layer: what the supervisor applies when it starts the stack."""

    app_faults: frozenset[str] = frozenset()
    page: PageEnv = field(default_factory=PageEnv)
    timers: Timers = field(default_factory=Timers.compressed)
    nginx_edits: tuple[str, ...] = ()
    edge: EdgeBehaviour = field(default_factory=EdgeBehaviour)
    zone_overlays: tuple[str, ...] = ()


# Checks (of the signoff profile) that need a page whose socket connects at all.
_PAGE_SOCKET = (
    *(c.RT_001, c.RT_002, c.RT_003, c.RT_004, c.RT_005),
    *(c.FT_001, c.FT_002, c.FT_003, c.FT_004, c.FT_006, c.FT_007, c.SW_001, c.SW_002),
)
# The nightly storm needs the pages too; it is not in the signoff run the self-tests make.
_PAGE_SOCKET_NIGHTLY = (c.FT_005,)


def _replace_page(**changes: object) -> Callable[[PageEnv], PageEnv]:
    return lambda page: dataclasses.replace(page, **changes)  # type: ignore[arg-type]


def _ping_above_edge(timers: Timers) -> Timers:
    return dataclasses.replace(timers, ping_interval_s=timers.edge_idle_timeout_s * 1.2)


FAULTS: dict[str, Fault] = {
    fault.name: fault
    for fault in (
        # nginx -----------------------------------------------------------------------------------
        Fault(
            "nginx-no-upgrade",
            Layer.NGINX,
            "the socket location forwards no Upgrade/Connection headers: clients silently stay on polling",
            (c.HS_003, c.RT_001, c.NGX_003, c.FT_001),
            nginx_edit="no-upgrade",
        ),
        Fault(
            "nginx-http-1.0",
            Layer.NGINX,
            # Measured: uvicorn still accepts the upgrade over HTTP/1.0, so only the audit sees it
            # here; servers that insist on HTTP/1.1 for an upgrade (many do) leave clients on polling.
            "the socket location lost proxy_http_version 1.1: nginx speaks HTTP/1.0 to the app",
            (c.NGX_002,),
            nginx_edit="http-1.0",
        ),
        Fault(
            "nginx-short-read-timeout",
            Layer.NGINX,
            "proxy_read_timeout is below pingInterval + pingTimeout: one late ping gets a socket cut",
            (c.HS_002, c.NGX_004, c.FT_006),
            nginx_edit="short-read-timeout",
        ),
        Fault(
            "nginx-host-without-port",
            Layer.NGINX,
            "proxy_set_header Host $host drops the port: python-engineio rejects the browser's Origin",
            (c.HS_001, c.HS_003, *_PAGE_SOCKET, c.NGX_005),
            may_break=_PAGE_SOCKET_NIGHTLY,
            nginx_edit="host-without-port",
        ),
        # the page's environment ------------------------------------------------------------------
        Fault(
            "insecure-socket-url",
            Layer.ENV,
            "NEXT_PUBLIC_WEBSOCKET_URL is ws:// on an https site: browsers block it as mixed content",
            (*_PAGE_SOCKET, c.ENV_002),
            may_break=_PAGE_SOCKET_NIGHTLY,
            page=_replace_page(insecure_url=True),
        ),
        Fault(
            "websockets-disabled",
            Layer.ENV,
            "NEXT_PUBLIC_ENABLE_WEBSOCKETS is false: the page never opens its socket",
            (*_PAGE_SOCKET, c.ENV_001),
            may_break=_PAGE_SOCKET_NIGHTLY,
            page=_replace_page(enable_websockets="false"),
        ),
        Fault(
            "socket-path-mismatch",
            Layer.ENV,
            "NEXT_PUBLIC_WEBSOCKET_PATH names a path the server does not serve (/ws)",
            (*_PAGE_SOCKET, c.ENV_002),
            may_break=_PAGE_SOCKET_NIGHTLY,
            page=_replace_page(websocket_path="/ws"),
        ),
        Fault(
            "env-sources-disagree",
            Layer.ENV,
            "the Kubernetes ConfigMap still holds an old NEXT_PUBLIC_WEBSOCKET_URL the .env no longer has",
            (c.ENV_003,),
            page=_replace_page(configmap_url_without_port=True),
            reach=frozenset({Family.ENV}),  # only the ConfigMap file changes: the page never reads it
        ),
        # timers ----------------------------------------------------------------------------------
        Fault(
            "ping-above-edge-timeout",
            Layer.TIMERS,
            "the server's ping interval exceeds the edge's idle timeout (and nginx's): quiet sockets get cut",
            (c.HS_002, c.NGX_004, c.FT_006),
            timers=_ping_above_edge,
        ),
        # the edge --------------------------------------------------------------------------------
        Fault(
            "edge-challenge-socket",
            Layer.EDGE,
            "a WAF rule challenges the socket path (403 with cf-mitigated: challenge): nothing connects",
            (c.HS_001, c.HS_002, c.HS_003, c.HS_004, c.HS_007, *_PAGE_SOCKET, c.RT_006, c.CF_002),
            may_break=_PAGE_SOCKET_NIGHTLY,
            edge={"challenge_socket": True},
        ),
        Fault(
            "edge-cache-socket",
            Layer.EDGE,
            "a cache rule covers the socket path (cf-cache-status: HIT)",
            (c.HS_005, c.CF_005),
            edge={"cache_socket": True},
        ),
        Fault(
            "edge-websockets-off",
            Layer.EDGE,
            "the zone's WebSockets setting is off: upgrades never reach the origin, clients stay on polling",
            (c.HS_003, c.RT_001, c.CF_001, c.FT_001),
            edge={"websockets": False},
        ),
        Fault(
            "edge-dns-only",
            Layer.EDGE,
            "the record is DNS-only (grey cloud): traffic bypasses Cloudflare, no cf-ray",
            (c.HS_006,),
            edge={"cloudflare_headers": False},
        ),
        # the edge's zone, as its Cloudflare-shaped API reports it -------------------------------
        Fault(
            "zone-bic-on-socket",
            Layer.ZONE,
            "Browser Integrity Check is on zone-wide and the rule that turned it off for the socket is gone",
            (c.CF_003,),
            zone_overlay="bic-on-socket",
            reach=frozenset({Family.CF}),
        ),
        Fault(
            "zone-bot-fight-mode",
            Layer.ZONE,
            "Bot Fight Mode is on: it cannot be skipped for the socket path",
            (),
            warns=(c.CF_004,),
            zone_overlay="bot-fight-mode",
            reach=frozenset({Family.CF}),
        ),
        Fault(
            "zone-argo-on",
            Layer.ZONE,
            "Argo Smart Routing is on: it does not apply to WebSockets",
            (),
            warns=(c.CF_006,),
            zone_overlay="argo-on",
            reach=frozenset({Family.CF}),
        ),
        # the app and its page --------------------------------------------------------------------
        Fault(
            "no-broadcast",
            Layer.APP,
            "chat and order updates are emitted back to the sender only, never to others",
            # The fault checks exchange a chat message before and after their fault: none arrives.
            (c.RT_002, c.RT_003, c.RT_004, c.FT_002, c.FT_004, c.FT_007),
        ),
        Fault(
            "chat-leaks-to-all",
            Layer.APP,
            "chat messages are emitted to every connected client, not to the two participants",
            (c.RT_003,),
        ),
        Fault(
            "no-resync",
            Layer.APP,
            "the page does not fetch what it missed after a reconnect",
            (c.FT_002, c.FT_007),
        ),
        Fault(
            "duplicate-on-resync",
            Layer.APP,
            "the page appends resync results without de-duplicating them",
            (c.FT_002, c.FT_007),
        ),
        Fault(
            "no-reconnect",
            Layer.APP,
            "the page's socket gives up after the first disconnect",
            (c.FT_001, c.FT_002, c.FT_003, c.FT_004, c.FT_007, c.SW_001),
            # A check after the first fault check finds the page still waiting for the first cut's
            # reconnection only if it reuses the page; each check opens its own pages, so no.
        ),
        Fault(
            "slow-connect-handler",
            Layer.APP,
            "the connect handler blocks the server's loop (a synchronous query): a reconnect storm queues up",
            (c.FT_005,),
        ),
        Fault(
            "no-missed-pong-check",
            Layer.APP,
            "the page sends health:ping but never acts on missed pongs: a half-open link stays open",
            (c.FT_003,),
        ),
        Fault(
            "no-pong",
            Layer.APP,
            "the server ignores health:ping",
            (c.RT_005,),
            # The page's missed-pong logic then drops and reconnects every few heartbeats; a chat or
            # order check that straddles a reconnect loses its message or its latency budget.
            may_break=(c.RT_002, c.RT_003, c.RT_004, c.FT_002, c.FT_004, c.FT_007),
        ),
        Fault(
            "sw-intercepts-socket",
            Layer.APP,
            "the service worker answers socket requests itself (and caches them)",
            (c.SW_002,),
        ),
        Fault(
            "sw-no-skip-waiting",
            Layer.APP,
            "an updated service worker waits for every tab to close: open pages keep the old version",
            (c.SW_001,),
        ),
        Fault(
            "sender-spoofable",
            Layer.APP,
            "the server trusts the sender_id a client puts in a chat message",
            (c.RT_006,),
        ),
        Fault(
            "no-socket-auth",
            Layer.APP,
            "the server accepts socket connections without a valid token",
            (c.HS_007,),
        ),
    )
}


def resolve_faults(names: Iterable[str]) -> tuple[Fault, ...]:
    """The faults named, in catalogue order; an unknown name is a UsageError with a suggestion."""
    wanted = set()
    for name in names:
        if name not in FAULTS:
            close = difflib.get_close_matches(name, FAULTS, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise UsageError(
                f"Unknown fault {name!r}.{hint} Known faults: {', '.join(FAULTS)}"
                " (`realtime-verify serve --list-faults` describes them)."
            )
        wanted.add(name)
    return tuple(fault for fault in FAULTS.values() if fault.name in wanted)


def build_settings(names: Iterable[str], timers: Timers) -> LayerSettings:
    """Fold the named faults into the settings of each layer, once."""
    faults = resolve_faults(names)
    page = PageEnv()
    edge = EdgeBehaviour(idle_timeout_s=timers.edge_idle_timeout_s)
    for fault in faults:
        if fault.page is not None:
            page = fault.page(page)
        if fault.timers is not None:
            timers = fault.timers(timers)
        if fault.edge:
            edge = dataclasses.replace(edge, **fault.edge)  # type: ignore[arg-type]
    return LayerSettings(
        app_faults=frozenset(f.name for f in faults if f.layer is Layer.APP),
        page=page,
        timers=timers,
        nginx_edits=tuple(f.nginx_edit for f in faults if f.nginx_edit),
        edge=edge,
        zone_overlays=tuple(f.zone_overlay for f in faults if f.zone_overlay),
    )
