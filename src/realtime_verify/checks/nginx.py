"""NGX-*: the nginx configuration that serves the socket path, read with crossplane.

Includes are followed; every finding names file:line. The location judged is the one nginx itself
would pick for the socket path (exact, then ^~ prefix, then regexes in order, then longest prefix),
and settings are looked up the way nginx inherits them: a `proxy_set_header` in a block drops every
one inherited from the enclosing blocks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import crossplane

from realtime_verify.checks.audit import AuditResult
from realtime_verify.errors import UsageError
from realtime_verify.nginx_conf import parse_duration

Directive = dict[str, Any]
DEFAULT_READ_TIMEOUT_S = 60.0
UPGRADE_FIX = (
    "in the socket location: `proxy_http_version 1.1; proxy_set_header Upgrade $http_upgrade;"
    " proxy_set_header Connection $connection_upgrade;` with `map $http_upgrade $connection_upgrade"
    " { default upgrade; '' close; }` in the http block"
)


def load(path: Path) -> list[Directive]:
    """Parse `path` and its includes into one tree; every directive knows its file."""
    if not path.is_file():
        raise UsageError(f"{path} does not exist" if not path.exists() else f"{path} is not a file")
    try:
        payload = crossplane.parse(str(path), check_ctx=False, check_args=False, comments=False)
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None
    if payload["status"] != "ok":
        first = payload["errors"][0]
        raise UsageError(f"{first['file']}:{first.get('line', '?')}: not valid nginx syntax: {first['error']}")
    configs = payload["config"]

    def expand(index: int) -> list[Directive]:
        config = configs[index]
        out = []
        for directive in config["parsed"]:
            out.extend(annotate(directive, config["file"]))
        return out

    def annotate(directive: Directive, file: str) -> list[Directive]:
        directive = {**directive, "file": file}
        if directive["directive"] == "include" and "includes" in directive:
            expanded = []
            for index in directive["includes"]:
                expanded.extend(expand(index))
            return expanded
        if "block" in directive:
            block = []
            for child in directive["block"]:
                block.extend(annotate(child, file))
            directive["block"] = block
        return [directive]

    return expand(0)


def where(directive: Directive) -> str:
    return f"{directive['file']}:{directive['line']}"


@dataclass
class SocketRoute:
    """The server, the location nginx picks for the socket path, and the blocks around it."""

    server: Directive
    location: Directive | None
    outer: list[list[Directive]]  # enclosing blocks, outermost first (http level, then server)

    def chain(self) -> list[list[Directive]]:
        """Blocks to look a setting up in, innermost first."""
        blocks = list(reversed(self.outer))
        return ([self.location["block"]] if self.location else []) + blocks

    def effective(self, name: str) -> Directive | None:
        for block in self.chain():
            for directive in block:
                if directive["directive"] == name:
                    return directive
        return None

    def headers(self) -> tuple[list[Directive], list[Directive]]:
        """(the proxy_set_header list in effect, the ones an inner block hides from outer levels)."""
        chain = self.chain()
        for depth, block in enumerate(chain):
            own = [d for d in block if d["directive"] == "proxy_set_header"]
            if own:
                hidden = [d for outer in chain[depth + 1 :] for d in outer if d["directive"] == "proxy_set_header"]
                return own, hidden
        return [], []


def servers(tree: list[Directive]) -> list[tuple[Directive, list[list[Directive]]]]:
    """Every server block with the blocks that enclose its contents (http level, server)."""
    found = []

    def visit(block: list[Directive], outer: list[list[Directive]]) -> None:
        for directive in block:
            if directive["directive"] == "server" and "block" in directive:
                found.append((directive, [*outer, directive["block"]]))
            elif directive["directive"] in ("http",) and "block" in directive:
                visit(directive["block"], [*outer, directive["block"]])

    visit(tree, [tree])
    return found


def pick_location(block: list[Directive], path: str) -> Directive | None:
    """The location nginx chooses for `path` among the locations of one block."""
    locations = [d for d in block if d["directive"] == "location" and d.get("args")]
    prefix_best: tuple[int, Directive] | None = None
    for location in locations:
        args = location["args"]
        modifier, pattern = (args[0], args[1]) if len(args) > 1 else ("", args[0])
        if modifier == "=" and pattern == path:
            return location
        if (
            modifier in ("", "^~")
            and path.startswith(pattern)
            and (prefix_best is None or len(pattern) > prefix_best[0])
        ):
            prefix_best = (len(pattern), location)
    if prefix_best and prefix_best[1]["args"][0] == "^~":
        return prefix_best[1]
    for location in locations:
        args = location["args"]
        if len(args) > 1 and args[0] in ("~", "~*"):
            try:
                if re.search(args[1], path, re.IGNORECASE if args[0] == "~*" else 0):
                    return location
            except re.error:
                continue
    return prefix_best[1] if prefix_best else None


def routes(tree: list[Directive], socket_path: str) -> list[SocketRoute]:
    result = []
    for server, outer in servers(tree):
        block = server["block"]
        redirect_only = not any(d["directive"] == "location" for d in block) and any(
            d["directive"] == "return" for d in block
        )
        if redirect_only:
            continue  # an http→https redirect server serves no socket
        result.append(SocketRoute(server, pick_location(block, socket_path), outer))
    return result


def audit_nginx(path: Path, socket_path: str, ping_silence_s: float, ping_source: str) -> list[AuditResult]:
    """NGX-001..005 for every server in `path` (and its includes)."""
    tree = load(path)
    results = {check: AuditResult(check) for check in ("NGX-001", "NGX-002", "NGX-003", "NGX-004", "NGX-005")}
    socket_path = socket_path if socket_path.endswith("/") else socket_path + "/"
    maps = {d["args"][1]: d for d in _walk(tree) if d["directive"] == "map" and len(d["args"]) == 2}
    found_routes = routes(tree, socket_path)
    if not found_routes:
        results["NGX-001"].add(
            "error", str(path), "no server block found", "include the file that holds the app's server block"
        )
    for route in found_routes:
        label = f"server at {where(route.server)}"
        for result in results.values():
            result.checked.append(label)
        if route.location is None or _own(route.location, "proxy_pass") is None:
            at = where(route.location) if route.location else where(route.server)
            found = (
                f"no location covers {socket_path}"
                if route.location is None
                else f"location {' '.join(route.location['args'])} covers {socket_path} but does not proxy it"
            )
            results["NGX-001"].add(
                "error", at, found, f"add `location {socket_path} {{ proxy_pass http://<app>; ... }}`"
            )
            continue
        _check_http_version(results["NGX-002"], route)
        _check_upgrade(results["NGX-003"], route, maps)
        _check_read_timeout(results["NGX-004"], route, ping_silence_s, ping_source)
        _check_host_and_proto(results["NGX-005"], route)
    return list(results.values())


def _own(location: Directive, name: str) -> Directive | None:
    return next((d for d in location["block"] if d["directive"] == name), None)


def _check_http_version(result: AuditResult, route: SocketRoute) -> None:
    assert route.location is not None
    version = route.effective("proxy_http_version")
    if version is None or version["args"][0] != "1.1":
        at = where(version) if version else where(route.location)
        found = (
            f"proxy_http_version is {version['args'][0] if version else '1.0 (the default)'}: HTTP/1.0 cannot upgrade"
        )
        result.add("error", at, found, "add `proxy_http_version 1.1;` to the socket location")


def _check_upgrade(result: AuditResult, route: SocketRoute, maps: dict[str, Directive]) -> None:
    assert route.location is not None
    headers, hidden = route.headers()
    by_name = {d["args"][0].lower(): d for d in headers if d["args"]}
    upgrade, connection = by_name.get("upgrade"), by_name.get("connection")
    hidden_names = {d["args"][0].lower(): d for d in hidden if d["args"]}
    for name, directive in (("upgrade", upgrade), ("connection", connection)):
        if directive is not None:
            continue
        if name in hidden_names:
            result.add(
                "error",
                where(hidden_names[name]),
                f"proxy_set_header {hidden_names[name]['args'][0]} is set here but not inherited: the location at"
                f" {where(route.location)} sets its own proxy_set_header ({where(headers[0])}), which drops every"
                " inherited one",
                "repeat the Upgrade and Connection headers inside the socket location",
            )
        else:
            result.add(
                "error",
                where(route.location),
                f"the socket location does not forward the {name.title()} header:"
                " clients silently stay on long-polling",
                UPGRADE_FIX,
            )
    if upgrade is not None and upgrade["args"][1:] != ["$http_upgrade"]:
        result.add(
            "error",
            where(upgrade),
            f"Upgrade is set to {' '.join(upgrade['args'][1:])!r}, not $http_upgrade",
            UPGRADE_FIX,
        )
    if connection is not None:
        value = " ".join(connection["args"][1:])
        if value.lower() == "upgrade":
            return
        variable = maps.get(value)
        if value.startswith("$") and variable is not None and variable["args"][0] == "$http_upgrade":
            return
        if value.startswith("$") and variable is None:
            result.add(
                "error", where(connection), f"Connection is {value}, but no `map ... {value}` defines it", UPGRADE_FIX
            )
        else:
            shown = value if value else '"" (cleared, as for upstream keep-alive)'
            result.add("error", where(connection), f"Connection is {shown}: an upgrade needs 'upgrade'", UPGRADE_FIX)


def _check_read_timeout(result: AuditResult, route: SocketRoute, silence_s: float, source: str) -> None:
    assert route.location is not None
    directive = route.effective("proxy_read_timeout")
    try:
        seconds = parse_duration(directive["args"][0]) if directive else DEFAULT_READ_TIMEOUT_S
    except ValueError:
        result.add(
            "error", where(directive) if directive else where(route.location), "proxy_read_timeout is not an nginx time"
        )
        return
    if seconds <= silence_s:
        at = where(directive) if directive else where(route.location)
        shown = directive["args"][0] if directive else "60s (the default)"
        result.add(
            "error",
            at,
            f"proxy_read_timeout {shown} is not above pingInterval + pingTimeout = {silence_s:g} s ({source}):"
            " nginx cuts a socket whose ping comes late",
            f"set proxy_read_timeout in the socket location above {silence_s:g}s, e.g. {max(120, int(2 * silence_s))}s",
        )


def _check_host_and_proto(result: AuditResult, route: SocketRoute) -> None:
    assert route.location is not None
    headers, _ = route.headers()
    by_name = {d["args"][0].lower(): d for d in headers if d["args"]}
    host = by_name.get("host")
    fix_host = "`proxy_set_header Host $http_host;` (keeps the port, which python-engineio compares with Origin)"
    if host is None:
        result.add(
            "error", where(route.location), "Host is not set: nginx sends the upstream's name ($proxy_host)", fix_host
        )
    else:
        value = " ".join(host["args"][1:])
        if value != "$http_host" and "$server_port" not in value:
            result.add(
                "error",
                where(host),
                f"Host is {value}, which drops the port: the server rejects the browser's Origin",
                fix_host,
            )
    if "x-forwarded-proto" not in by_name:
        result.add(
            "error",
            where(route.location),
            "X-Forwarded-Proto is not set: the app cannot tell it is served over https",
            "`proxy_set_header X-Forwarded-Proto $scheme;`"
            " (behind Cloudflare: keep the edge's $http_x_forwarded_proto)",
        )


def _walk(block: list[Directive]) -> list[Directive]:
    out = []
    for directive in block:
        out.append(directive)
        if "block" in directive:
            out.extend(_walk(directive["block"]))
    return out
