"""What an app has (its capabilities) and what a target allows, matched against what checks need."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from realtime_verify.catalogue import Check, Need
from realtime_verify.config import AuthMode, ChatModel, ItemsKind, Profile


@dataclass(frozen=True)
class Capabilities:
    """What an app has, as its adapter declares it.

    login       how a user logs in: api token, login form with a session cookie, a Playwright
                storage state, a nickname only, or none
    chat        direct (one-to-one), room, broadcast (everyone), or none
    send_by     "click" on a send button, or the name of the key that sends ("Enter")
    items       shared items that change (orders, tasks), or none
    heartbeat   an app-level ping/pong on top of Engine.IO's
    socket_auth the server authenticates sockets, so a socket without credentials is refused
    sender_identity  received chat messages say who sent them (from the server's session)
    resync      the page fetches what it missed after a reconnect
    service_worker   the page registers a service worker
    connection_badge the page shows its connection state in an element
    """

    login: AuthMode
    chat: ChatModel
    send_by: str
    items: ItemsKind
    heartbeat: bool
    socket_auth: bool
    sender_identity: bool
    resync: bool
    service_worker: bool
    connection_badge: bool

    @classmethod
    def from_profile(cls, profile: Profile) -> Capabilities:
        """The capabilities a profile declares ([app], [auth], [ui], [events])."""
        app, ui, events = profile.app, profile.ui, profile.events
        return cls(
            login=profile.auth.mode,
            chat=app.chat,
            send_by="click" if ui.chat_send else ui.send_key,
            items=app.items,
            heartbeat=app.heartbeat and bool(events.health_ping and events.health_pong),
            socket_auth=app.socket_auth and profile.auth.mode != "none",
            sender_identity=bool(events.chat_sender_path),
            resync=app.resync,
            service_worker=app.service_worker,
            connection_badge=bool(ui.connected),
        )

    def describe(self) -> list[str]:
        """One line per capability, for the report header."""
        shown = {True: "yes", False: "no"}
        return [f"{name.replace('_', ' ')}: {shown.get(value, value)}" for name, value in vars(self).items()]


@dataclass(frozen=True)
class TargetFacts:
    """What the target and the profile provide besides the app itself."""

    behind_cloudflare: bool
    env_sources: bool
    nginx_conf: bool
    cloudflare_zone: bool
    fault_methods: frozenset[str]

    @classmethod
    def from_profile(cls, profile: Profile) -> TargetFacts:
        files = profile.config_files
        return cls(
            behind_cloudflare=profile.target.behind_cloudflare,
            env_sources=bool(files.env or files.k8s),
            nginx_conf=bool(files.nginx),
            cloudflare_zone=bool(profile.cloudflare.zone_id or profile.cloudflare.zone_name),
            fault_methods=frozenset(profile.faults.allowed),
        )


# Why a need is not met, in the words a skipped check shows.
MISSING = {
    Need.PAGE: "the target has no page to open",
    Need.CHAT: "the app has no chat (app.chat = none)",
    Need.DIRECT_CHAT: "the app's chat is not one-to-one (app.chat)",
    Need.ITEMS: "the app has no shared items such as orders or tasks (app.items = none)",
    Need.SOCKET_AUTH: "the app's sockets do not authenticate a user (app.socket_auth = false, or auth.mode = none)",
    Need.SENDER_IDENTITY: "received chat messages do not say who sent them (events.chat_sender_path is empty)",
    Need.RESYNC: "the page does not fetch what it missed after a reconnect (app.resync = false)",
    Need.SERVICE_WORKER: "the app has no service worker (app.service_worker = false)",
    Need.BEHIND_CLOUDFLARE: "the target is not declared behind Cloudflare (target.behind_cloudflare = false)",
    Need.ENV_SOURCES: "no env files or manifests to audit were given (config_files.env, config_files.k8s)",
    Need.NGINX_CONF: "no nginx conf to audit was given (config_files.nginx)",
    Need.CLOUDFLARE_ZONE: "no Cloudflare zone to read was given (cloudflare.zone_id or zone_name)",
    Need.BACKEND_RESTART: "restarting the backend is not allowed against this target (faults.allowed has no 'backend')",
    Need.EDGE_FAULTS: "cutting connections at the edge is not allowed here (faults.allowed has no 'edge')",
}


def missing(need: Need, capabilities: Capabilities, facts: TargetFacts) -> str | None:
    """Why `need` is not met, or None when it is."""
    absent = {
        Need.PAGE: False,
        Need.CHAT: capabilities.chat == "none",
        Need.DIRECT_CHAT: capabilities.chat != "direct",
        Need.ITEMS: capabilities.items == "none",
        Need.SOCKET_AUTH: not capabilities.socket_auth,
        Need.SENDER_IDENTITY: not capabilities.sender_identity,
        Need.RESYNC: not capabilities.resync,
        Need.SERVICE_WORKER: not capabilities.service_worker,
        Need.BEHIND_CLOUDFLARE: not facts.behind_cloudflare,
        Need.ENV_SOURCES: not facts.env_sources,
        Need.NGINX_CONF: not facts.nginx_conf,
        Need.CLOUDFLARE_ZONE: not facts.cloudflare_zone,
        Need.BACKEND_RESTART: "backend" not in facts.fault_methods,
        Need.EDGE_FAULTS: "edge" not in facts.fault_methods,
    }[need]
    return MISSING[need] if absent else None


def unmet_needs(check: Check, capabilities: Capabilities, facts: TargetFacts) -> list[str]:
    """The reasons a check cannot run here (empty: it can)."""
    return [reason for need in check.needs if (reason := missing(need, capabilities, facts)) is not None]


def skip_reason(check: Check, capabilities: Capabilities, facts: TargetFacts) -> str | None:
    reasons = unmet_needs(check, capabilities, facts)
    return "; ".join(reasons) if reasons else None


def needs_met(checks: Iterable[Check], capabilities: Capabilities, facts: TargetFacts) -> list[Check]:
    return [check for check in checks if not unmet_needs(check, capabilities, facts)]
