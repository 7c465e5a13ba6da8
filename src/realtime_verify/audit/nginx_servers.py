"""Which nginx server answers the socket requests of the site, as nginx picks it.

nginx picks a server by the listening port, then by `server_name` (exact name, then the longest
`*.` wildcard, then the longest `.*` wildcard, then the first matching regex); when no name
matches, the port's default server answers. The socket requests of an https site arrive on a TLS
listener, or (behind an edge that terminates TLS, such as Cloudflare Flexible or a load balancer)
on a plain one. Whether a chosen server really serves the socket (or only redirects it) is the
route's business (`nginx_route`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from realtime_verify.audit.nginx_files import Directive, NginxConf, Unreadable, where
from realtime_verify.audit.nginx_values import python_regex, unreadable_in

DEFAULT_PORTS = {"https": 443, "http": 80}


@dataclass(frozen=True)
class Listen:
    port: int
    ssl: bool
    default: bool


@dataclass
class Server:
    """A server block with the http block around it."""

    directive: Directive
    outer: list[list[Directive]]  # enclosing http-level blocks, innermost first
    names: list[str] = field(default_factory=list)
    listens: list[Listen] = field(default_factory=list)

    @property
    def block(self) -> list[Directive]:
        block: list[Directive] = self.directive["block"]
        return block

    @property
    def chain(self) -> list[list[Directive]]:
        return [self.block, *self.outer]

    @property
    def tls(self) -> bool:
        return any(listen.ssl for listen in self.listens)

    def label(self) -> str:
        name = next((n for n in self.names if n not in ("", "_")), "")
        ports = ", ".join(sorted({f"{lst.port}{' ssl' if lst.ssl else ''}" for lst in self.listens}))
        return f"server {name or '(no server_name)'} (listen {ports}) at {where(self.directive)}"

    def port_for(self, scheme: str | None) -> Listen:
        """The listener the socket requests arrive on: TLS for https when there is one."""
        wanted = [lst for lst in self.listens if lst.ssl == (scheme == "https" or (scheme is None and self.tls))]
        return (wanted or self.listens)[0]


def servers_of(conf: NginxConf) -> list[Server]:
    found = []
    for http in conf.http_blocks():
        for directive in http:
            if directive["directive"] == "server" and "block" in directive:
                found.append(_server(directive, [http]))
    return found


def _server(directive: Directive, outer: list[list[Directive]]) -> Server:
    block = directive["block"]
    names = [str(a) for d in block if d["directive"] == "server_name" for a in d.get("args") or []]
    ssl_on = any(d["directive"] == "ssl" and d.get("args") == ["on"] for d in block)
    listens = [_listen(d.get("args") or [], ssl_on) for d in block if d["directive"] == "listen"]
    return Server(directive, outer, names or [""], listens or [Listen(80, ssl_on, False)])


def _listen(args: list[str], ssl_on: bool) -> Listen:
    address = str(args[0]) if args else "80"
    params = {str(a) for a in args[1:]}
    if address.startswith("unix:"):
        port = 0
    elif address.isdigit():
        port = int(address)
    else:
        found = re.search(r":(\d+)$", address)
        port = int(found[1]) if found else 80
    return Listen(port, "ssl" in params or ssl_on, bool(params & {"default_server", "default"}))


def name_rank(names: list[str], host: str) -> int | None:
    """How well a server's names match `host` (0 exact ... 3 regex), None when none matches."""
    host = host.lower()
    ranks = []
    for name in names:
        lowered = name.lower()
        if lowered.startswith("~"):
            pattern = python_regex(name[1:])
            if pattern is not None and pattern.search(host):
                ranks.append(3)
        elif (lowered.startswith("*.") and host.endswith(lowered[1:])) or (
            lowered.startswith(".") and (host == lowered[1:] or host.endswith(lowered))
        ):
            ranks.append(1)
        elif lowered.endswith(".*") and host.startswith(lowered[:-1]):
            ranks.append(2)
        elif lowered == host:
            ranks.append(0)
    return min(ranks) if ranks else None


def default_servers(servers: list[Server]) -> list[Server]:
    """The default server of every port: `default_server`, else the first server listening there."""
    chosen: list[Server] = []
    for port in dict.fromkeys(lst.port for s in servers for lst in s.listens):
        on_port = [s for s in servers if any(lst.port == port for lst in s.listens)]
        marked = [s for s in on_port if any(lst.port == port and lst.default for lst in s.listens)]
        pick = (marked or on_port)[0]
        if pick not in chosen:
            chosen.append(pick)
    return chosen


@dataclass
class Selection:
    """The servers that answer the socket host, what was passed over, and an include that may hide one."""

    servers: list[Server]
    notes: list[str] = field(default_factory=list)
    unknown: Unreadable | None = None


def select_servers(conf: NginxConf, host: str | None, scheme: str | None, port: int | None) -> Selection:
    servers = servers_of(conf)
    hidden = next((u for block in conf.http_blocks() if (u := unreadable_in(block)) is not None), None)
    if host is None:
        return Selection(servers, ["the site's host is not known (--site): every server is considered"], hidden)
    ranked = [(rank, s) for s in servers if (rank := name_rank(s.names, host)) is not None]
    notes = []
    if ranked:
        best = min(rank for rank, _ in ranked)
        candidates = [s for rank, s in ranked if rank == best]
    else:
        if hidden is not None:
            return Selection([], [f"no server given has server_name {host}"], hidden)
        candidates = default_servers(servers)
        if candidates:
            notes.append(
                f"no server_name matches {host}: nginx answers with the default server of its port"
                f" ({'; '.join(s.label() for s in candidates)})"
            )
    if scheme is not None:
        tls = [s for s in candidates if s.tls]
        plain = [s for s in candidates if not s.tls]
        pool = (tls or plain) if scheme == "https" else (plain or tls)
        if scheme == "https" and not tls and plain:
            notes.append("no TLS listener serves it: read as behind an edge that terminates TLS")
        public = port or DEFAULT_PORTS.get(scheme, 443)
        on_port = [s for s in pool if any(lst.port == public and lst.ssl == (scheme == "https") for lst in s.listens)]
        candidates = on_port or pool
    passed = [s for s in servers if s not in candidates]
    if passed:
        notes.append(f"not serving {host}: " + "; ".join(s.label() for s in passed))
    return Selection(candidates, notes, None)
