"""The one nginx reader: which server and location serve the socket path, and with what settings.

Every check that needs an nginx fact (the NGX family, the handshake check of the read timeout) reads it here. The
work is split by what nginx does:

    nginx_files    the files: includes from the conf prefix, folders mapped, what cannot be read
    nginx_syntax   nginx's own words on a syntax error (`nginx -t` in a temp folder)
    nginx_servers  which server answers the socket host
    nginx_route    which location answers the socket path, for a polling and an upgrade request
    nginx_values   inheritance, variables and maps, proxy_pass's URI rule

`socket_routes()` puts them together: the servers nginx would use for the site's socket requests,
each with the route of both requests; servers that only redirect or reject them are set aside.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from realtime_verify.audit.nginx_files import Directive, NginxConf, Unreadable, load_conf, where
from realtime_verify.audit.nginx_route import Route, route
from realtime_verify.audit.nginx_servers import DEFAULT_PORTS, Listen, Selection, Server, select_servers
from realtime_verify.audit.nginx_values import (
    Request,
    RequestKind,
    Variables,
    effective,
    maps_of,
    parse_duration,
)

__all__ = [
    "DEFAULT_READ_TIMEOUT_S",
    "Directive",
    "NginxConf",
    "Route",
    "ServerRoutes",
    "SocketRoutes",
    "Unreadable",
    "load",
    "parse_duration",
    "read_timeout",
    "request_for",
    "socket_read_timeout",
    "socket_routes",
    "where",
]

DEFAULT_READ_TIMEOUT_S = 60.0  # nginx's proxy_read_timeout when none is set


def load(path: Path, *, nginx_root: Path | None = None, path_map: dict[str, Path] | None = None) -> NginxConf:
    """Read the configuration at `path` as nginx would (see `nginx_files`)."""
    return load_conf(path, nginx_root=nginx_root, path_map=path_map)


@dataclass
class ServerRoutes:
    """One server that answers the socket host, with where its two socket requests go."""

    server: Server
    polling: Route
    upgrade: Route

    def routes(self) -> list[Route]:
        """Both routes, the upgrade first; one when both end in the same block."""
        same = self.polling.location is self.upgrade.location and self.polling.outcome == self.upgrade.outcome
        return [self.upgrade] if same else [self.upgrade, self.polling]


@dataclass
class SocketRoutes:
    conf: NginxConf
    selection: Selection
    judged: list[ServerRoutes] = field(default_factory=list)
    set_aside: list[str] = field(default_factory=list)  # servers not judged, and why
    maps: dict[str, Directive] = field(default_factory=dict)


def listen_for(server: Server, scheme: str | None, port: int | None) -> Listen:
    """The listener a socket request reaches: TLS for https when the server has one, the public port first."""
    tls = scheme == "https" or (scheme is None and server.tls)
    wanted = [lst for lst in server.listens if lst.ssl == tls] or server.listens
    public = port or DEFAULT_PORTS.get("https" if tls else "http", 80)
    return next((lst for lst in wanted if lst.port == public), wanted[0])


def request_for(
    server: Server, kind: RequestKind, path: str, host: str | None, scheme: str | None, port: int | None
) -> Request:
    """The socket request as `server` sees it; behind a plain listener an https site means a TLS edge."""
    listen = listen_for(server, scheme, port)
    nginx_scheme = "https" if listen.ssl else "http"
    edge: str | None = ""
    if listen.ssl:
        edge = ""
    elif scheme == "https":
        edge = "https"  # an edge (Cloudflare, a load balancer) terminated TLS and says so
    else:
        edge = "" if scheme == "http" else None
    names = [n for n in server.names if n and n != "_" and "*" not in n and not n.startswith("~")]
    return Request(kind, path, host, port, scheme, nginx_scheme, listen.port, edge, names[0] if names else None)


def socket_routes(
    conf: NginxConf, socket_path: str, host: str | None = None, scheme: str | None = None, port: int | None = None
) -> SocketRoutes:
    """The servers that would answer the site's socket requests, with both routes through each."""
    selection = select_servers(conf, host, scheme, port)
    result = SocketRoutes(conf, selection, maps=maps_of(conf.http_blocks()))
    for server in selection.servers:
        reject = effective(server.chain, "ssl_reject_handshake").directive
        if reject is not None and reject.get("args") == ["on"] and listen_for(server, scheme, port).ssl:
            result.set_aside.append(f"{server.label()}: rejects the TLS handshake ({where(reject)})")
            continue
        both = []
        kinds: tuple[RequestKind, ...] = ("polling", "upgrade")
        for kind in kinds:
            request = request_for(server, kind, socket_path, host, scheme, port)
            both.append(route(server, request, Variables(request, result.maps)))
        polling, upgrade = both
        if {polling.outcome, upgrade.outcome} <= {"redirect", "reject"}:
            result.set_aside.append(f"{server.label()}: not judged, {upgrade.detail}")
            continue
        result.judged.append(ServerRoutes(server, polling, upgrade))
    if host is None and any(r.outcome == "proxy" for s in result.judged for r in (s.polling, s.upgrade)):
        for served in [s for s in result.judged if "proxy" not in (s.polling.outcome, s.upgrade.outcome)]:
            result.judged.remove(served)
            result.set_aside.append(f"{served.server.label()}: does not proxy the socket path (another server does)")
    return result


def read_timeout(found: Route) -> tuple[float | None, str, Unreadable | None]:
    """proxy_read_timeout for a route: (seconds or None when not a plain time, where, hiding include)."""
    lookup = effective(found.chain, "proxy_read_timeout")
    if lookup.directive is None:
        at = f"{found.anchor} (nginx's default {DEFAULT_READ_TIMEOUT_S:g}s)"
        return (None if lookup.unknown else DEFAULT_READ_TIMEOUT_S), at, lookup.unknown
    value = str(lookup.directive["args"][0]) if lookup.directive.get("args") else ""
    try:
        return parse_duration(value), where(lookup.directive), None
    except ValueError:
        return None, where(lookup.directive), None


def socket_read_timeout(
    path: Path, socket_path: str, *, nginx_root: Path | None = None, host: str | None = None
) -> tuple[float, str] | None:
    """proxy_read_timeout for the socket path (seconds, where), from the first server that proxies it."""
    routes = socket_routes(load(path, nginx_root=nginx_root), socket_path, host)
    for served in routes.judged:
        if served.upgrade.outcome == "proxy":
            seconds, at, _ = read_timeout(served.upgrade)
            return None if seconds is None else (seconds, at)
    return None
