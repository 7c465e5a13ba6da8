"""NGX-*: judging the nginx configuration that serves the socket path (read by `audit.nginx`).

Every finding names file:line. A check with nothing to judge (no server proxies the socket path) is
skipped with the reason, never passed.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from realtime_verify import catalogue as c
from realtime_verify.audit.nginx import Directive, SocketRoute, maps, routes, where
from realtime_verify.catalogue import Check
from realtime_verify.outcome import CheckResult, Finding, FindingSeverity

NGX_CHECKS = (c.NGX_001, c.NGX_002, c.NGX_003, c.NGX_004, c.NGX_005)


class _Findings:
    """Findings collected per check while the servers are judged."""

    def __init__(self) -> None:
        self.found: dict[Check, list[Finding]] = {check: [] for check in NGX_CHECKS}
        self.checked: list[str] = []

    def add(self, check: Check, where_: str, found: str, fix: str = "", severity: FindingSeverity = "error") -> None:
        self.found[check].append(Finding(severity, where_, found, fix or check.fix))


@dataclass(frozen=True)
class SiteFacts:
    """What is known of the site in front of nginx, for NGX-005.

    `port_in_origin`: the explicit port of the public site URL, False when it has none (a default
    port, so dropping it changes nothing), None when the site URL is unknown. `origin_refused`: what a
    live handshake with the site's Origin answered, when it refused it.
    """

    port_in_origin: int | bool | None = None
    origin_refused: str | None = None

    @classmethod
    def from_url(cls, url: str | None, origin_refused: str | None = None) -> SiteFacts:
        if not url:
            return cls(None, origin_refused)
        port = urlsplit(url).port
        return cls(port if port is not None else False, origin_refused)


def judge_nginx(
    tree: list[Directive], source: str, socket_path: str, ping_silence_s: float, ping_source: str, site: SiteFacts
) -> list[CheckResult]:
    """NGX-001..005 for every server of a configuration tree (`audit.nginx.load`) read from `source`."""
    findings = _Findings()
    defined = maps(tree)
    found_routes = routes(tree, socket_path)
    judged = 0
    if not found_routes:
        findings.add(c.NGX_001, source, "no server block found", "include the file that holds the app's server block")
    for route in found_routes:
        findings.checked.append(f"server at {where(route.server)}")
        if route.location is None or route.own("proxy_pass") is None:
            at = where(route.location) if route.location else where(route.server)
            found = (
                f"no location covers {socket_path}"
                if route.location is None
                else f"location {' '.join(route.location['args'])} covers {socket_path} but does not proxy it"
            )
            findings.add(c.NGX_001, at, found, f"add `location {socket_path} {{ proxy_pass http://<app>; ... }}`")
            continue
        judged += 1
        _check_http_version(findings, route)
        _check_upgrade(findings, route, defined)
        _check_read_timeout(findings, route, ping_silence_s, ping_source)
        _check_host_and_proto(findings, route, site)
    results = []
    for check in NGX_CHECKS:
        skipped = None
        if check is not c.NGX_001 and judged == 0:
            skipped = f"no server proxies {socket_path}, so there is nothing to judge (see {c.NGX_001})"
        results.append(
            CheckResult.from_findings(check, findings.found[check], checked=findings.checked, skipped=skipped)
        )
    return results


def _check_http_version(findings: _Findings, route: SocketRoute) -> None:
    assert route.location is not None
    version = route.effective("proxy_http_version")
    if version is None or version["args"][0] != "1.1":
        at = where(version) if version else where(route.location)
        found = (
            f"proxy_http_version is {version['args'][0] if version else '1.0 (the default)'}: HTTP/1.0 cannot upgrade"
        )
        findings.add(c.NGX_002, at, found, "add `proxy_http_version 1.1;` to the socket location")


def _check_upgrade(findings: _Findings, route: SocketRoute, maps: dict[str, Directive]) -> None:
    assert route.location is not None
    headers, hidden = route.headers()
    by_name = {d["args"][0].lower(): d for d in headers if d["args"]}
    upgrade, connection = by_name.get("upgrade"), by_name.get("connection")
    hidden_names = {d["args"][0].lower(): d for d in hidden if d["args"]}
    for name, directive in (("upgrade", upgrade), ("connection", connection)):
        if directive is not None:
            continue
        if name in hidden_names:
            findings.add(
                c.NGX_003,
                where(hidden_names[name]),
                f"proxy_set_header {hidden_names[name]['args'][0]} is set here but not inherited: the location at"
                f" {where(route.location)} sets its own proxy_set_header ({where(headers[0])}), which drops every"
                " inherited one",
                "repeat the Upgrade and Connection headers inside the socket location",
            )
        else:
            findings.add(
                c.NGX_003,
                where(route.location),
                f"the socket location does not forward the {name.title()} header:"
                " clients silently stay on long-polling",
                c.NGX_003.fix,
            )
    if upgrade is not None and upgrade["args"][1:] != ["$http_upgrade"]:
        findings.add(
            c.NGX_003,
            where(upgrade),
            f"Upgrade is set to {' '.join(upgrade['args'][1:])!r}, not $http_upgrade",
            c.NGX_003.fix,
        )
    if connection is not None:
        value = " ".join(connection["args"][1:])
        if value.lower() == "upgrade":
            return
        variable = maps.get(value)
        if value.startswith("$") and variable is not None and variable["args"][0] == "$http_upgrade":
            return
        if value.startswith("$") and variable is None:
            findings.add(
                c.NGX_003,
                where(connection),
                f"Connection is {value}, but no `map ... {value}` defines it",
                c.NGX_003.fix,
            )
        else:
            shown = value if value else '"" (cleared, as for upstream keep-alive)'
            findings.add(
                c.NGX_003, where(connection), f"Connection is {shown}: an upgrade needs 'upgrade'", c.NGX_003.fix
            )


def _check_read_timeout(findings: _Findings, route: SocketRoute, silence_s: float, source: str) -> None:
    assert route.location is not None
    try:
        seconds, at = route.read_timeout()
    except ValueError:
        findings.add(c.NGX_004, where(route.location), "proxy_read_timeout is not an nginx time")
        return
    if seconds <= silence_s:
        findings.add(
            c.NGX_004,
            at,
            f"proxy_read_timeout {seconds:g}s is not above pingInterval + pingTimeout = {silence_s:g} s ({source}):"
            " nginx cuts a socket whose ping comes late",
            f"set proxy_read_timeout in the socket location to {suggested_read_timeout(silence_s)}s",
        )


def suggested_read_timeout(silence_s: float) -> int:
    """The read timeout every check suggests: twice the ping silence, at least 120 s."""
    return max(120, int(2 * silence_s))


def _check_host_and_proto(findings: _Findings, route: SocketRoute, site: SiteFacts) -> None:
    """Host and X-Forwarded-Proto matter to servers that compare the browser's Origin with them
    (python-engineio does, Node's socket.io does not by default): from the conf alone they *could*
    break the handshake, so they are warnings, unless a live handshake saw the Origin refused."""
    assert route.location is not None
    headers, _ = route.headers()
    by_name = {d["args"][0].lower(): d for d in headers if d["args"]}
    host = by_name.get("host")
    fix_host = "`proxy_set_header Host $http_host;` (keeps the port, which python-engineio compares with Origin)"
    severity: FindingSeverity = "error" if site.origin_refused else "warning"
    confirmed = f"; the live handshake confirms it: {site.origin_refused}" if site.origin_refused else ""
    if host is None:
        findings.add(
            c.NGX_005,
            where(route.location),
            f"Host is not set: nginx sends the upstream's name ($proxy_host){confirmed}",
            fix_host,
            severity=severity,
        )
    else:
        value = " ".join(host["args"][1:])
        keeps_port = value == "$http_host" or "$server_port" in value or "$http_x_forwarded_host" in value
        if not keeps_port and site.port_in_origin is not False:
            reason = (
                f"the site's Origin carries port {site.port_in_origin}"
                if isinstance(site.port_in_origin, int)
                else "if the site is served on a non-default port, its Origin carries it"
            )
            findings.add(
                c.NGX_005,
                where(host),
                f"Host is {value}, which drops the port: {reason}, so a server that compares Host with"
                f" Origin (python-engineio does) could reject the browser{confirmed}",
                fix_host,
                severity="error" if site.origin_refused or isinstance(site.port_in_origin, int) else severity,
            )
    if "x-forwarded-proto" not in by_name:
        findings.add(
            c.NGX_005,
            where(route.location),
            "X-Forwarded-Proto is not set: behind TLS termination the app sees http, and a server that compares"
            f" the scheme with the browser's https Origin (python-engineio does) could reject it{confirmed}",
            "`proxy_set_header X-Forwarded-Proto $scheme;`"
            " (behind Cloudflare: keep the edge's $http_x_forwarded_proto)",
            severity=severity,
        )
