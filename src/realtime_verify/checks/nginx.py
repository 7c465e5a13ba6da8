"""The NGX family: judging the nginx configuration that serves the socket path (read by `audit.nginx`).

Only what nginx would really do is judged: the servers that answer the site's socket host (not
redirect or catch-all servers), and in each the block that answers a polling request and the one
that answers the WebSocket upgrade. Every finding names file:line, the cause and the fix.

Outcomes: a wrong setting fails its check; a setting that cannot be seen (an include that cannot be
read, a `${VAR}` template value, a map in a file not given) makes it "review"; a check with nothing
to judge (no server proxies the socket path) is skipped, never passed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from realtime_verify import catalogue as c
from realtime_verify.audit.files import shown
from realtime_verify.audit.nginx import Directive, NginxConf, Route, SocketRoutes, read_timeout, socket_routes, where
from realtime_verify.audit.nginx_values import Variables, backend_path, effective, headers
from realtime_verify.catalogue import Check
from realtime_verify.checks.nginx_origin import SiteFacts, judge_origin
from realtime_verify.outcome import CheckResult, Finding, FindingSeverity

__all__ = ["NGX_CHECKS", "SiteFacts", "judge_nginx", "suggested_read_timeout"]

NGX_CHECKS = (c.NGX_001, c.NGX_002, c.NGX_003, c.NGX_004, c.NGX_005)
SOCKET_LOCATION = (
    "`location {path} {{ proxy_pass http://<app>; proxy_http_version 1.1; proxy_set_header Upgrade $http_upgrade;"
    ' proxy_set_header Connection "upgrade"; proxy_set_header Host $http_host;'
    " proxy_set_header X-Forwarded-Proto $scheme; proxy_read_timeout 120s; }}` in the server that serves the site"
)
MAP_FIX = "define it in the http block: `map $http_upgrade $connection_upgrade { default upgrade; '' close; }`"


@dataclass
class _Findings:
    """Findings collected per check while the servers are judged."""

    found: dict[Check, list[Finding]] = field(default_factory=lambda: {check: [] for check in NGX_CHECKS})
    checked: list[str] = field(default_factory=list)

    def add(self, check: Check, at: str, found: str, fix: str = "", severity: FindingSeverity = "error") -> None:
        finding = Finding(severity, at, found, fix or check.fix)
        if finding not in self.found[check]:
            self.found[check].append(finding)


def judge_nginx(
    conf: NginxConf, source: str, socket_path: str, ping_silence_s: float, ping_source: str, site: SiteFacts
) -> list[CheckResult]:
    """The NGX checks for the configuration `conf` (`audit.nginx.load`) read from `source`."""
    findings = _Findings()
    routes = socket_routes(conf, socket_path, site.host, site.scheme, site.port)
    findings.checked += [f"{s.server.label()}: " + "; ".join(_seen(r) for r in s.routes()) for s in routes.judged]
    findings.checked += routes.selection.notes + routes.set_aside + conf.notes
    findings.checked += [u.describe() for u in conf.unreadable]
    proxied = _judge_reach(findings, routes, socket_path, site)
    for served in routes.judged:
        main = next((r for r in (served.upgrade, served.polling) if r.outcome == "proxy"), None)
        if main is None:
            continue
        _check_http_version(findings, main)
        _check_upgrade(findings, main, routes)
        _check_read_timeout(findings, main, ping_silence_s, ping_source)
        for one in served.routes():
            if one.outcome == "proxy":
                for check_at, text, fix, severity in judge_origin(one, routes.maps, socket_path, site):
                    findings.add(c.NGX_005, check_at, text, fix, severity)
    results = []
    for check in NGX_CHECKS:
        skipped = None
        if check is not c.NGX_001 and not proxied:
            reach = findings.found[c.NGX_001]
            if reach and all(f.severity == "review" for f in reach):
                findings.add(
                    check,
                    reach[0].where,
                    f"depends on the server blocks that could not be read ({c.NGX_001})",
                    reach[0].fix,
                    "review",
                )
            else:
                skipped = f"no server proxies {socket_path}, so there is nothing to judge (see {c.NGX_001})"
        results.append(
            CheckResult.from_findings(check, findings.found[check], checked=findings.checked, skipped=skipped)
        )
    return results


def _seen(found: Route) -> str:
    kind = "upgrade" if found.request.kind == "upgrade" else "polling"
    return f"{kind} request: {found.describe()} -> {found.outcome}"


def _judge_reach(findings: _Findings, routes: SocketRoutes, socket_path: str, site: SiteFacts) -> bool:
    """The reach check (`c.NGX_001`); True when a judged server proxies the socket path (the rest can be judged)."""
    check = c.NGX_001
    fix = SOCKET_LOCATION.format(path=socket_path)
    hidden = routes.selection.unknown or next(iter(routes.conf.unreadable), None)
    if not routes.judged:
        host = site.host or "the site"
        if hidden is not None and (routes.selection.unknown or not routes.selection.servers):
            unread = "; ".join(u.describe() for u in routes.conf.unreadable) or hidden.describe()
            findings.add(
                check,
                hidden.at,
                f"no server for {host} is in what was given, and the server may be in what could not be read: {unread}",
                "give the folder that stands for /etc/nginx (--nginx-root) so that its includes can be read,"
                " or give the site's own file",
                "review",
            )
        elif routes.set_aside:
            findings.add(
                check,
                str(routes.conf.source),
                f"no server serves {socket_path} for {host}: " + "; ".join(routes.set_aside),
                fix,
            )
        else:
            findings.add(check, str(routes.conf.source), f"no server block for {host} in what was given", fix)
        return False
    proxied = False
    for served in routes.judged:
        for one in served.routes():
            kind = "a WebSocket upgrade" if one.request.kind == "upgrade" else "a polling request"
            if one.outcome == "proxy":
                proxied = True
                assert one.proxy_pass is not None
                upstream = backend_path(one.proxy_pass, one.location, one.uri, one.rewritten)
                if upstream.path is None:
                    findings.add(
                        check,
                        where(one.proxy_pass),
                        f"cannot tell which path the backend receives for {socket_path}: {upstream.why}",
                        fix,
                        "review",
                    )
                elif upstream.path.rstrip("/") != socket_path.rstrip("/"):
                    findings.add(
                        check,
                        where(one.proxy_pass),
                        f"{one.block} proxies {socket_path}, but"
                        f" {upstream.why}: the backend receives {upstream.path}?EIO=4..., not {socket_path}, and a"
                        " Socket.IO server on its default path answers 404",
                        f"drop the URI part: `proxy_pass {one.proxy_pass['args'][0].rsplit('/', 1)[0]};`"
                        f" (or write the path out: ...{socket_path})",
                    )
                elif one.unknown is not None:
                    findings.add(
                        check,
                        one.unknown.at,
                        f"{one.unknown.describe()}: it could change where {kind} goes",
                        "give the included file",
                        "review",
                    )
            elif one.outcome == "unknown":
                findings.add(check, one.anchor, f"{kind} to {socket_path}: {one.detail}", fix, "review")
            else:
                findings.add(
                    check,
                    one.anchor,
                    f"{kind} to {socket_path} is not proxied: {one.detail} ({one.server.label()})",
                    fix,
                )
    return proxied


def _check_http_version(findings: _Findings, found: Route) -> None:
    lookup = effective(found.chain, "proxy_http_version")
    fix = f"add `proxy_http_version 1.1;` to the block that proxies the socket ({found.anchor})"
    if lookup.unknown is not None:
        findings.add(
            c.NGX_002,
            lookup.unknown.at,
            f"proxy_http_version is not set up to {lookup.unknown.describe()}, which could set it",
            fix,
            "review",
        )
    elif lookup.directive is None:
        findings.add(
            c.NGX_002,
            found.anchor,
            "proxy_http_version is not set at any level, so nginx talks HTTP/1.0"
            " to the backend, which cannot carry an upgrade: clients stay on long-polling",
            fix,
        )
    elif str(lookup.directive["args"][0]) != "1.1":
        findings.add(
            c.NGX_002,
            where(lookup.directive),
            f"proxy_http_version is {lookup.directive['args'][0]}: an upgrade needs HTTP/1.1",
            fix,
        )


def _check_upgrade(findings: _Findings, found: Route, routes: SocketRoutes) -> None:
    lines = headers(found.chain)
    fix = c.NGX_003.fix
    variables = Variables(found.request, routes.maps, dict(found.variables.assigned))
    for name, wanted in (("Upgrade", "websocket"), ("Connection", "upgrade")):
        line = lines.get(name)
        if line is None:
            hidden = next((d for d in lines.hidden if str(d["args"][0]).lower() == name.lower()), None)
            if lines.unknown is not None:
                findings.add(
                    c.NGX_003,
                    lines.unknown.at,
                    f"{name} is not set where seen, and {lines.unknown.describe()}",
                    fix,
                    "review",
                )
            elif hidden is not None:
                findings.add(
                    c.NGX_003,
                    where(hidden),
                    f"proxy_set_header {name} is set here but not inherited: the"
                    f" block at {found.anchor} has its own proxy_set_header lines ({where(lines.lines[0])}),"
                    " which drop every inherited one, so nginx sends no Upgrade and `Connection: close`",
                    "repeat the Upgrade and Connection lines inside the socket location",
                )
            else:
                findings.add(
                    c.NGX_003,
                    found.anchor,
                    f"{found.block}, which answers the WebSocket upgrade, does not forward {name}: the handshake"
                    " never reaches the app as one, and socket.io silently stays on long-polling",
                    fix,
                )
            continue
        value = " ".join(str(a) for a in line["args"][1:])
        result = variables.evaluate(value)
        if result is None:
            _unknown_variable(findings, line, value, routes.conf, variables)
        elif wanted not in [token.strip().lower() for token in result.split(",")]:
            said = '"" (cleared, as for upstream keep-alive)' if value == "" else shown(value)
            findings.add(
                c.NGX_003,
                where(line),
                f"{name} is {said}"
                + (f", which is {result!r} for a WebSocket handshake" if "$" in value else "")
                + f": the upgrade needs {name}: {wanted}",
                fix,
            )
        elif lines.unknown is not None:
            findings.add(
                c.NGX_003,
                lines.unknown.at,
                f"{lines.unknown.describe()}: it could replace these proxy_set_header lines",
                "give the included file",
                "review",
            )


def _unknown_variable(findings: _Findings, line: Directive, value: str, conf: NginxConf, variables: Variables) -> None:
    missing = [name for name in _variables(value) if variables.value(name) is None and f"${name}" not in variables.maps]
    if missing and conf.kind == "main" and not conf.unreadable:
        findings.add(
            c.NGX_003,
            where(line),
            f'${missing[0]} is defined nowhere: nginx refuses to start (unknown "{missing[0]}" variable)',
            MAP_FIX,
        )
    elif missing:
        findings.add(
            c.NGX_003,
            where(line),
            f"{line['args'][0]} is {value}, but no map defining ${missing[0]} is in"
            " what was given (nginx would not start without one, so it is in a file not given):"
            " whether it maps an upgrade request to 'upgrade' cannot be seen",
            f"give the main nginx.conf (or the file with the map); {MAP_FIX}",
            "review",
        )
    else:
        findings.add(
            c.NGX_003,
            where(line),
            f"{line['args'][0]} is {value}, which cannot be evaluated from what was given",
            c.NGX_003.fix,
            "review",
        )


def _variables(value: str) -> list[str]:
    return [m[1] or m[2] for m in re.finditer(r"\$(?:\{(\w+)\}|(\w+))", value)]


def _check_read_timeout(findings: _Findings, found: Route, silence_s: float, source: str) -> None:
    seconds, at, unknown = read_timeout(found)
    fix = f"set proxy_read_timeout in the socket location to {suggested_read_timeout(silence_s)}s"
    if unknown is not None:
        findings.add(
            c.NGX_004,
            unknown.at,
            f"proxy_read_timeout is not set up to {unknown.describe()}, which could set it",
            fix,
            "review",
        )
    elif seconds is None:
        value = str(effective(found.chain, "proxy_read_timeout").directive["args"][0])  # type: ignore[index]
        if "$" in value:
            findings.add(
                c.NGX_004,
                at,
                f"proxy_read_timeout is {value}, a value filled in when the container starts"
                f" (envsubst); it cannot be compared with pingInterval + pingTimeout = {silence_s:g} s",
                "give the environment the container runs with, or check `nginx -T` on the server",
                "review",
            )
        else:
            findings.add(c.NGX_004, at, f"proxy_read_timeout {shown(value)} is not an nginx time", fix)
    elif seconds <= silence_s:
        findings.add(
            c.NGX_004,
            at,
            f"proxy_read_timeout {seconds:g}s is not above pingInterval + pingTimeout ="
            f" {silence_s:g} s ({source}): nginx closes a socket whose ping comes late, before Socket.IO"
            " itself would, and clients reconnect",
            fix,
        )


def suggested_read_timeout(silence_s: float) -> int:
    """The read timeout every check suggests: twice the ping silence, at least 120 s."""
    return max(120, int(2 * silence_s))
