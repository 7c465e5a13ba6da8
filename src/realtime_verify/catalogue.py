"""Every check of realtime-verify, declared once: ID, title, family, profiles, needs, severity, fix.

Everything else refers to a check by its constant (`catalogue.RT_002`), never by its ID string: the
pytest markers and `--check` selection, the run profiles, the fault expectations of the self-tests,
the README's checks table and every report read this module. A test greps for stray ID literals.

A check declares what it **needs** from the app and the target (`Need`); the plugin compares that with
what the target provides and skips the check, with the reason, before it runs. A check that can be
done a weaker way (no app heartbeat: measure Engine.IO's ping instead) does not need the stronger one.

This module imports nothing from the rest of the harness: it is the vocabulary the other modules share.
It is long because it is the list: one declaration per check, read top to bottom like the README's table.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum


class Family(StrEnum):
    """Where a check looks: a static file, the live endpoint, the browser, or a forced fault."""

    ENV = "ENV"
    NGX = "NGX"
    CF = "CF"
    HS = "HS"
    RT = "RT"
    FT = "FT"
    SW = "SW"

    @property
    def description(self) -> str:
        return FAMILY_TITLES[self]


FAMILY_TITLES = {
    Family.ENV: "Environment variables (static audit)",
    Family.NGX: "nginx proxy block (static audit)",
    Family.CF: "Cloudflare zone (static audit, read-only)",
    Family.HS: "Handshake and transport probes (live, HTTP)",
    Family.RT: "Real-time sync in two browsers and a watcher",
    Family.FT: "Forced disconnects, reconnection and resync",
    Family.SW: "Service worker updates",
}


class RunProfile(StrEnum):
    """Which checks a run includes: a post-deploy verdict, a release sign-off, the nightly deep run."""

    SMOKE = "smoke"
    SIGNOFF = "signoff"
    NIGHTLY = "nightly"


class Severity(StrEnum):
    """What a failure means: users broken now, broken under a condition that will come, or advice."""

    CRITICAL = "critical"
    MAJOR = "major"
    ADVISORY = "advisory"  # can only warn: the state is worth knowing, never wrong by itself


class Need(StrEnum):
    """What a check needs from the app or the target. The text says what is missing when it is absent."""

    PAGE = "a page the suite can open and log into"
    CHAT = "chat (app.chat)"
    DIRECT_CHAT = "direct (one-to-one) chat"
    ITEMS = "shared items that change, such as orders or tasks (app.items)"
    SOCKET_AUTH = "sockets that authenticate their user (app.socket_auth)"
    SENDER_IDENTITY = "chat messages that carry their sender (events.chat_sender_path)"
    RESYNC = "a page that fetches what it missed after a reconnect (app.resync)"
    SERVICE_WORKER = "a service worker (app.service_worker)"
    BEHIND_CLOUDFLARE = "a target declared behind Cloudflare (target.behind_cloudflare)"
    ENV_SOURCES = "env files or manifests to audit (config_files.env, config_files.k8s)"
    NGINX_CONF = "an nginx conf to audit (config_files.nginx)"
    CLOUDFLARE_ZONE = "a Cloudflare zone to read (cloudflare.zone_id or zone_name)"
    BACKEND_RESTART = "a backend the suite may restart (faults.allowed has 'backend')"
    EDGE_FAULTS = "an edge the suite may cut (faults.allowed has 'edge')"


ALL_PROFILES = frozenset(RunProfile)
NOT_SMOKE = frozenset({RunProfile.SIGNOFF, RunProfile.NIGHTLY})
NIGHTLY_ONLY = frozenset({RunProfile.NIGHTLY})


@dataclass(frozen=True)
class Check:
    """One check: what it proves, when it runs, what it needs, and what usually fixes it."""

    id: str
    title: str
    fix: str
    profiles: frozenset[RunProfile] = ALL_PROFILES
    needs: tuple[Need, ...] = ()
    severity: Severity = Severity.CRITICAL
    # Ways the check still judges something when the app lacks the stronger capability.
    degrades: str = ""
    family: Family = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "family", Family(self.id.split("-")[0]))

    def __str__(self) -> str:
        return self.id


# Static audit: env vars -----------------------------------------------------------------------------

ENV_001 = Check(
    "ENV-001",
    "NEXT_PUBLIC_ENABLE_WEBSOCKETS is true in every source",
    "set NEXT_PUBLIC_ENABLE_WEBSOCKETS=true in every source, then rebuild (NEXT_PUBLIC_* are inlined at build time)",
    needs=(Need.ENV_SOURCES,),
)
ENV_002 = Check(
    "ENV-002",
    "NEXT_PUBLIC_WEBSOCKET_URL is secure, on the site's host, with the right path",
    "use wss://<site host> and put the socket path in NEXT_PUBLIC_WEBSOCKET_PATH, then rebuild",
    needs=(Need.ENV_SOURCES,),
)
ENV_003 = Check(
    "ENV-003",
    "The real-time variables agree across sources; none is missing or empty",
    "make every source hold the same values (the build uses one of them)",
    needs=(Need.ENV_SOURCES,),
    severity=Severity.MAJOR,
)

# Static audit: nginx --------------------------------------------------------------------------------

NGX_001 = Check(
    "NGX-001",
    "A location covers the socket path and proxies it",
    "add `location /socket.io/ { proxy_pass http://<app>; ... }` to the server that serves the site",
    needs=(Need.NGINX_CONF,),
)
NGX_002 = Check(
    "NGX-002",
    "proxy_http_version 1.1 for the socket path",
    "add `proxy_http_version 1.1;` to the socket location",
    needs=(Need.NGINX_CONF,),
)
NGX_003 = Check(
    "NGX-003",
    "Upgrade and Connection reach the app (header inheritance included)",
    "in the socket location: `proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection"
    " $connection_upgrade;` with `map $http_upgrade $connection_upgrade { default upgrade; '' close; }`",
    needs=(Need.NGINX_CONF,),
)
NGX_004 = Check(
    "NGX-004",
    "proxy_read_timeout exceeds pingInterval + pingTimeout",
    "set proxy_read_timeout in the socket location above pingInterval + pingTimeout (e.g. 120s)",
    needs=(Need.NGINX_CONF,),
    severity=Severity.MAJOR,
)
NGX_005 = Check(
    "NGX-005",
    "Host keeps the port and X-Forwarded-Proto is set",
    "`proxy_set_header Host $http_host;` and `proxy_set_header X-Forwarded-Proto $scheme;`",
    needs=(Need.NGINX_CONF,),
    severity=Severity.MAJOR,
)

# Static audit: Cloudflare ---------------------------------------------------------------------------

CF_001 = Check(
    "CF-001",
    "WebSockets are on for the zone",
    "Network → WebSockets: on (a person with write access changes it; the audit never writes)",
    needs=(Need.CLOUDFLARE_ZONE,),
)
CF_002 = Check(
    "CF-002",
    "No rule challenges, blocks or rate-limits the socket path",
    'exclude the socket path from the rule (`and not starts_with(http.request.uri.path, "/socket.io/")`)'
    " or put a skip rule for it first",
    needs=(Need.CLOUDFLARE_ZONE,),
)
CF_003 = Check(
    "CF-003",
    "Browser Integrity Check is off for the socket path",
    "add a configuration rule that turns Browser Integrity Check off for the socket path",
    needs=(Need.CLOUDFLARE_ZONE,),
    severity=Severity.MAJOR,
)
CF_004 = Check(
    "CF-004",
    "Bot Fight Mode state (it cannot be skipped per path)",
    "if socket clients get challenged, turn Bot Fight Mode off or use Super Bot Fight Mode with a skip rule",
    needs=(Need.CLOUDFLARE_ZONE,),
    severity=Severity.ADVISORY,
)
CF_005 = Check(
    "CF-005",
    "No cache rule covers the socket path",
    "make the cache rule exclude the socket path, or add a bypass-cache rule for it",
    needs=(Need.CLOUDFLARE_ZONE,),
)
CF_006 = Check(
    "CF-006",
    "Argo Smart Routing state (it does not apply to WebSockets)",
    "nothing to change for the socket; measure its latency with the suite instead",
    needs=(Need.CLOUDFLARE_ZONE,),
    severity=Severity.ADVISORY,
)

# Live probes ----------------------------------------------------------------------------------------

HS_001 = Check(
    "HS-001",
    "The polling handshake returns an EIO 4 open packet offering websocket",
    "serve socket.io (EIO 4) at target.socket_path and accept the site's Origin",
)
HS_002 = Check(
    "HS-002",
    "pingInterval + pingTimeout stays below the edge's idle timeout and nginx's read timeout",
    "lower pingInterval, or raise nginx's proxy_read_timeout above pingInterval + pingTimeout",
    severity=Severity.MAJOR,
)
HS_003 = Check(
    "HS-003",
    "A direct WebSocket connection to the socket path upgrades (101) through the edge",
    "forward Upgrade and Connection on every hop (nginx: proxy_http_version 1.1 and the two headers;"
    " Cloudflare: WebSockets on)",
)
HS_004 = Check(
    "HS-004",
    "The socket path is not challenged (no cf-mitigated, no challenge page)",
    "exclude the socket path from the WAF or bot rule that challenges it",
)
HS_005 = Check(
    "HS-005",
    "The socket path is not cached (cf-cache-status DYNAMIC, BYPASS or absent)",
    "exclude the socket path from cache rules",
)
HS_006 = Check(
    "HS-006",
    "cf-ray is present on the socket path when the target is declared behind Cloudflare",
    "proxy the socket host through Cloudflare (orange cloud), or set target.behind_cloudflare = false",
    needs=(Need.BEHIND_CLOUDFLARE,),
    severity=Severity.MAJOR,
)
HS_007 = Check(
    "HS-007",
    "A socket connection without valid credentials is refused",
    "refuse the connection in the connect handler when the credentials are missing or invalid",
    needs=(Need.SOCKET_AUTH,),
)

# Browser --------------------------------------------------------------------------------------------

RT_001 = Check(
    "RT-001",
    "Both pages open their socket to the expected URL and end on transport websocket",
    "forward Upgrade and Connection on every hop, and point the page at the right socket URL and path",
    needs=(Need.PAGE,),
)
RT_002 = Check(
    "RT-002",
    "Chat A→B and B→A: delivered once, in order, rendered; p95 within budget",
    "emit each chat message to every participant of the conversation and render it on receipt",
    needs=(Need.PAGE, Need.CHAT),
    degrades="room and broadcast chat prove delivery, order and latency as well as direct chat",
)
RT_003 = Check(
    "RT-003",
    "Same user in two browsers; a direct chat never reaches a third user",
    "emit to every socket of each participant (a room per user), and to the participants only",
    profiles=NOT_SMOKE,
    needs=(Need.PAGE, Need.CHAT),
    degrades="the leak half needs direct chat and a third user; without them only the tabs half is judged",
)
RT_004 = Check(
    "RT-004",
    "Updates of a shared item from A's UI and from the API appear in B and at the watcher",
    "after persisting a change, emit the update to every client that shows the item",
    needs=(Need.PAGE, Need.ITEMS),
)
RT_005 = Check(
    "RT-005",
    "Heartbeats flow at the configured cadence (the app's ping/pong, else Engine.IO's)",
    "answer the page's heartbeat on the server, on the interval the app is configured with",
    profiles=NOT_SMOKE,
    needs=(Need.PAGE,),
    degrades="with no app-level heartbeat, Engine.IO's ping/pong cadence is measured instead",
)
RT_006 = Check(
    "RT-006",
    "The server attributes chat messages to the authenticated user; a spoofed sender is rejected",
    "take the sender from the authenticated socket session, and reject a payload that claims another",
    needs=(Need.CHAT, Need.SOCKET_AUTH, Need.SENDER_IDENTITY),
)

# Forced faults --------------------------------------------------------------------------------------

FT_001 = Check(
    "FT-001",
    "Every connection dropped: pages and watcher reconnect within budget, back on websocket",
    "keep the client's reconnection on (socket.io-client does by default) and never call"
    " socket.disconnect() on a transient error",
    profiles=NOT_SMOKE,
    needs=(Need.PAGE,),
)
FT_002 = Check(
    "FT-002",
    "Updates made while a client was cut off appear after it reconnects, once and in order",
    "on every (re)connect, fetch what was missed since the last id seen, and de-duplicate by id",
    profiles=NOT_SMOKE,
    needs=(Need.PAGE, Need.CHAT, Need.RESYNC),
)
FT_003 = Check(
    "FT-003",
    "A half-open link is detected by the missed-pong rule and the page reconnects",
    "count missed pongs and close the transport (not the socket) after the limit, so that it reconnects",
    profiles=NOT_SMOKE,
    needs=(Need.PAGE,),
    degrades="with no app-level heartbeat, Engine.IO's ping timeout must detect the dead link",
)
FT_004 = Check(
    "FT-004",
    "A backend restart (a deploy): clients reconnect, re-authenticate, nothing persisted is lost",
    "authenticate on every connect (socket.io-client sends `auth` again) and resync after reconnecting",
    profiles=NOT_SMOKE,
    needs=(Need.PAGE, Need.BACKEND_RESTART),
)
FT_005 = Check(
    "FT-005",
    "Reconnect storm: many clients cut at once all return within budget, spread by jitter",
    "keep reconnection jitter (randomizationFactor > 0) and make connect handlers cheap",
    profiles=NIGHTLY_ONLY,
    needs=(Need.PAGE,),
)
FT_006 = Check(
    "FT-006",
    "An idle connection outlives nginx's read timeout and the edge's idle timeout, late pings included",
    "keep pingInterval + pingTimeout below every idle timeout on the path",
    # Bounded by faults.max_check_s: with compressed timers it fits a sign-off, with real ones it is nightly's.
    profiles=NOT_SMOKE,
    needs=(Need.PAGE,),
    severity=Severity.MAJOR,
)
FT_007 = Check(
    "FT-007",
    "Browser offline, then online: the page reconnects and resyncs",
    "reconnect on the `online` event or the next backoff tick, and resync after connecting",
    profiles=NOT_SMOKE,
    needs=(Need.PAGE,),
)

# Service worker -------------------------------------------------------------------------------------

SW_001 = Check(
    "SW-001",
    "A new service worker takes over through SKIP_WAITING and open pages hear the new version",
    "post SKIP_WAITING to the waiting worker, broadcast the version on controllerchange, keep the socket",
    profiles=NOT_SMOKE,
    # A changed sw.js must be served during the check: only where the suite may deploy (restart).
    needs=(Need.PAGE, Need.SERVICE_WORKER, Need.BACKEND_RESTART),
)
SW_002 = Check(
    "SW-002",
    "The service worker never intercepts or caches socket traffic",
    "let requests to the socket path fall through to the network in the fetch handler",
    profiles=NOT_SMOKE,
    needs=(Need.PAGE, Need.SERVICE_WORKER),
)


@dataclass(frozen=True)
class Catalogue:
    """The checks in report order, with lookups by ID and family."""

    checks: tuple[Check, ...]

    def __iter__(self) -> Iterator[Check]:
        return iter(self.checks)

    def __len__(self) -> int:
        return len(self.checks)

    def __getitem__(self, check_id: str) -> Check:
        for check in self.checks:
            if check.id == check_id:
                return check
        raise KeyError(check_id)

    @property
    def ids(self) -> list[str]:
        return [check.id for check in self.checks]

    def family(self, family: Family) -> list[Check]:
        return [check for check in self.checks if check.family is family]

    def in_profile(self, profile: RunProfile) -> list[Check]:
        return [check for check in self.checks if profile in check.profiles]

    def select(self, selectors: Iterable[str]) -> set[Check]:
        """The checks an ID (`RT-002`) or family (`RT`) selector names; unknown ones raise KeyError."""
        chosen: set[Check] = set()
        for raw in selectors:
            selector = raw.strip().upper()
            if selector in Family.__members__:
                chosen.update(self.family(Family(selector)))
            else:
                chosen.add(self[selector])
        return chosen


CATALOGUE = Catalogue(
    tuple(value for name, value in dict(globals()).items() if isinstance(value, Check) and name.isupper())
)
