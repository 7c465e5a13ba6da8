"""The origin check's reasoning (`c.NGX_005`): can the backend rebuild the page's origin from what nginx sends?

The expert assumption (audit corpus README): python-engineio's default origin check, which accepts
the browser's Origin only when it equals `scheme://Host` (scheme of the nginx-to-backend hop) or
`X-Forwarded-Proto://(X-Forwarded-Host or Host)` (engineio/base_server.py, `_cors_allowed_origins`).
So Host must carry what the browser put in the URL (the port only when it is not the default), and
X-Forwarded-Proto must say https on an https site.

With the site's URL known there is one case to evaluate. Without it, the plausible ones are
evaluated (a TLS listener on its port; a plain listener reached directly or behind a TLS edge): the
same answer in all decides, different answers are a warning. Where what nginx sends has two
possible values (Debian's `proxy_params` changed Host between package versions) and they disagree,
the answer is "review".
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from realtime_verify.audit.nginx import Directive, Route, request_for, where
from realtime_verify.audit.nginx_servers import DEFAULT_PORTS
from realtime_verify.audit.nginx_values import Variables, backend_path, headers
from realtime_verify.outcome import FindingSeverity

HOST_FIX = "`proxy_set_header Host $http_host;` (the Host the browser sent: the port only when it used one)"
PROTO_FIX = (
    "`proxy_set_header X-Forwarded-Proto $scheme;` where nginx terminates TLS; behind a TLS-terminating edge keep"
    " the edge's value: `map $http_x_forwarded_proto $forwarded_proto { default $http_x_forwarded_proto;"
    " '' $scheme; }` and `proxy_set_header X-Forwarded-Proto $forwarded_proto;`"
)
PROXY_PARAMS_FIX = (
    "set `proxy_set_header Host $http_host;` and `proxy_set_header X-Forwarded-Proto $scheme;` in the socket"
    " location instead of `include proxy_params;` (not after it: nginx would send both Host lines),"
    " or check the server's /etc/nginx/proxy_params"
)
Verdict = tuple[str, str, str, FindingSeverity]  # where, found, fix, severity


@dataclass(frozen=True)
class SiteFacts:
    """What is known of the socket's public origin in front of nginx, for server choice and the origin check.

    `port_in_origin`: the explicit port of the URL, False when it has none (a default port), None when
    the URL is unknown. `origin_refused`: what a live handshake with the site's Origin answered, when
    it refused it (then an origin finding is certain, not a possibility).
    """

    port_in_origin: int | bool | None = None
    origin_refused: str | None = None
    scheme: str | None = None  # https or http (wss/ws read as such)
    host: str | None = None

    @classmethod
    def from_url(cls, url: str | None, origin_refused: str | None = None) -> SiteFacts:
        if not url:
            return cls(None, origin_refused)
        parts = urlsplit(url)
        scheme = {"wss": "https", "ws": "http"}.get(parts.scheme, parts.scheme)
        port = parts.port if parts.port != DEFAULT_PORTS.get(scheme) else None
        return cls(port if port is not None else False, origin_refused, scheme, parts.hostname)

    @property
    def port(self) -> int | None:
        return self.port_in_origin if type(self.port_in_origin) is int else None


@dataclass(frozen=True)
class _Case:
    scheme: str
    host: str
    port: int | None
    label: str

    @property
    def origin(self) -> str:
        return f"{self.scheme}://{self.host}" + (f":{self.port}" if self.port else "")


@dataclass(frozen=True)
class _Sent:
    host: str | None
    proto: str | None  # None: no X-Forwarded-Proto line
    forwarded_host: str | None
    backend_scheme: str

    def origins(self) -> set[str]:
        allowed = {f"{self.backend_scheme}://{self.host}"}
        if self.proto is not None or self.forwarded_host is not None:
            scheme = (self.proto or self.backend_scheme).split(",")[0].strip()
            allowed.add(f"{scheme}://{(self.forwarded_host or self.host or '').split(',')[0].strip()}")
        return allowed


def judge_origin(found: Route, maps: dict[str, Directive], socket_path: str, site: SiteFacts) -> list[Verdict]:
    """Findings for one proxied route (none when the origin check would pass)."""
    assert found.proxy_pass is not None
    lines = headers(found.chain)
    host_line, proto_line = lines.get("Host"), lines.get("X-Forwarded-Proto")
    forwarded_line = lines.get("X-Forwarded-Host")
    upstream = backend_path(found.proxy_pass, found.location, found.uri, found.rewritten)
    refused = site.origin_refused
    confirmed = f"; the live handshake confirms it: {refused}" if refused else ""
    if lines.unknown is not None:
        return [
            (
                lines.unknown.at,
                f"{lines.unknown.describe()}: it could set Host or X-Forwarded-Proto",
                "give the included file",
                "error" if refused else "review",
            )
        ]
    cases = _cases(found, site)
    outcomes: list[tuple[_Case, list[_Sent]]] = []
    for case in cases:
        request = request_for(found.server, found.request.kind, socket_path, case.host, case.scheme, case.port)
        variables = Variables(request, maps, dict(found.variables.assigned))
        values = [host_line["args"][1], *host_line.get("alternatives", [])] if host_line else [None]
        sent = []
        for value in values:
            host = upstream.proxy_host if value is None else variables.evaluate(str(value))
            proto = None if proto_line is None else variables.evaluate(" ".join(map(str, proto_line["args"][1:])))
            forwarded = None if forwarded_line is None else variables.evaluate(str(forwarded_line["args"][1]))
            if host is None or (proto_line is not None and proto is None):
                expression = value if host is None else proto_line["args"][1]  # type: ignore[index]
                return [
                    (
                        where(host_line or proto_line or found.proxy_pass),
                        f"{expression} cannot be evaluated from what was given, so the Origin check cannot be judged",
                        HOST_FIX,
                        "error" if refused else "review",
                    )
                ]
            sent.append(_Sent(host, proto, forwarded, upstream.scheme or "http"))
        outcomes.append((case, sent))
    passes = {case.label: [case.origin in s.origins() for s in sent] for case, sent in outcomes}
    if all(all(v) for v in passes.values()):
        return []
    if site.host is not None and any(len(set(v)) > 1 for v in passes.values()):
        assert host_line is not None
        case = outcomes[0][0]
        return [
            (
                where(host_line),
                f"Host comes from Debian's stock proxy_params, which is not given: it sent"
                f" $http_host until nginx 1.22.1-9+deb12u5 and $host since 1.22.1-9+deb12u6, and on {case.origin}"
                " only the first keeps the port python-engineio compares with the Origin (an apt upgrade alone"
                f" can break the handshake){confirmed}",
                PROXY_PARAMS_FIX,
                "error" if refused else "review",
            )
        ]
    decided = all(not any(v) for v in passes.values())
    severity: FindingSeverity = "error" if decided or refused else "warning"
    case, sent = next((o for o in outcomes if not all(passes[o[0].label])), outcomes[0])
    return _explain(found, case, sent[0], host_line, proto_line, severity, decided, confirmed)


def _cases(found: Route, site: SiteFacts) -> list[_Case]:
    if site.host is not None and site.scheme is not None:
        return [_Case(site.scheme, site.host, site.port, site.scheme)]
    listen = found.server.port_for(None)
    host = "site.example"
    if listen.ssl:
        return [_Case("https", host, None if listen.port == 443 else listen.port, "TLS here")]
    cases = [_Case("http", host, None if listen.port == 80 else listen.port, "plain http, reached directly")]
    if listen.port != 80:
        cases.append(_Case("http", host, None, "plain http behind a proxy on port 80"))
    cases.append(_Case("https", host, None, "https behind an edge that terminates TLS"))
    return cases


def _explain(
    found: Route,
    case: _Case,
    sent: _Sent,
    host_line: Directive | None,
    proto_line: Directive | None,
    severity: FindingSeverity,
    decided: bool,
    confirmed: str,
) -> list[Verdict]:
    known = decided and case.host != "site.example"
    origin = case.origin if known else "the page's Origin"
    condition = "" if known else f" (when the site is {case.label}: give --site to decide)" if not decided else ""
    netloc = case.origin.split("://", 1)[1]
    rebuilt = f"{(sent.proto or sent.backend_scheme)}://{sent.host}"
    out: list[Verdict] = []
    if sent.host != netloc:
        if host_line is None:
            text = (
                f"Host is not set{_hidden_note(found)}: nginx sends the upstream's address ({sent.host}), so"
                f" python-engineio rebuilds {rebuilt} and refuses {origin}"
            )
        else:
            value = " ".join(map(str, host_line["args"][1:]))
            text = (
                f"Host is {value}, which sends {sent.host!r} where the browser asked for {netloc!r}:"
                f" python-engineio rebuilds {rebuilt} from Host + X-Forwarded-Proto and refuses {origin}"
            )
        at = where(host_line) if host_line else found.anchor
        out.append((at, text + f" (400 'Not an accepted origin'){condition}{confirmed}", HOST_FIX, severity))
    if (sent.proto or sent.backend_scheme) != case.scheme:
        if proto_line is None:
            text = (
                f"X-Forwarded-Proto is not set{_hidden_note(found)}: the backend sees {sent.backend_scheme}"
                f" and python-engineio refuses {origin}, an {case.scheme} page"
            )
        else:
            value = " ".join(map(str, proto_line["args"][1:]))
            edge = " (this server listens on plain http: TLS ends before nginx)" if sent.proto == "http" else ""
            text = (
                f"X-Forwarded-Proto is {value}, which says {sent.proto!r}{edge}: python-engineio rebuilds"
                f" {rebuilt} and refuses {origin}"
            )
        at = where(proto_line) if proto_line else found.anchor
        out.append((at, text + f"{condition}{confirmed}", PROTO_FIX, severity))
    return out


def _hidden_note(found: Route) -> str:
    lines = headers(found.chain)
    if lines.hidden and lines.lines:
        return (
            f" here (the block's own proxy_set_header at {where(lines.lines[0])} drops the inherited ones,"
            f" such as {where(lines.hidden[0])})"
        )
    return ""
