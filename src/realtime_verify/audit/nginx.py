"""The one nginx reader: the configuration that serves the socket path, read with crossplane.

Every check that needs an nginx fact (NGX-001..005, HS-002's read timeout) reads it here. Includes
are followed and every directive knows its file and line. The location judged is the one nginx
itself would pick for the socket path (exact, then the longest `^~` prefix, then regexes in order,
then the longest prefix), and settings are looked up the way nginx inherits them: a
`proxy_set_header` in a block drops every one inherited from the enclosing blocks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import crossplane

from realtime_verify.errors import UsageError

Directive = dict[str, Any]
DEFAULT_READ_TIMEOUT_S = 60.0  # nginx's proxy_read_timeout when none is set
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "M": 2592000, "y": 31536000}


def parse_duration(value: str) -> float:
    """An nginx time value ("75s", "1m30s", "500ms", "120") in seconds."""
    parts = re.findall(r"(\d+)(ms|[smhdwMy])?", value)
    if not parts or "".join(n + u for n, u in parts) != value:
        raise ValueError(f"not an nginx time: {value!r}")
    return sum(int(number) * _UNITS[unit or "s"] for number, unit in parts)


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


def walk(block: list[Directive]) -> list[Directive]:
    """Every directive of a block and its sub-blocks, depth first."""
    out = []
    for directive in block:
        out.append(directive)
        if "block" in directive:
            out.extend(walk(directive["block"]))
    return out


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

    def own(self, name: str) -> Directive | None:
        """A directive of the location itself (not inherited)."""
        if self.location is None:
            return None
        return next((d for d in self.location["block"] if d["directive"] == name), None)

    def headers(self) -> tuple[list[Directive], list[Directive]]:
        """(the proxy_set_header list in effect, the ones an inner block hides from outer levels)."""
        chain = self.chain()
        for depth, block in enumerate(chain):
            own = [d for d in block if d["directive"] == "proxy_set_header"]
            if own:
                hidden = [d for outer in chain[depth + 1 :] for d in outer if d["directive"] == "proxy_set_header"]
                return own, hidden
        return [], []

    def read_timeout(self) -> tuple[float, str]:
        """proxy_read_timeout in effect (seconds) and where it is set; nginx's default when unset."""
        directive = self.effective("proxy_read_timeout")
        if directive is None:
            anchor = self.location or self.server
            return DEFAULT_READ_TIMEOUT_S, f"{where(anchor)} (nginx's default {DEFAULT_READ_TIMEOUT_S:g}s)"
        return parse_duration(directive["args"][0]), where(directive)


def servers(tree: list[Directive]) -> list[tuple[Directive, list[list[Directive]]]]:
    """Every server block with the blocks that enclose its contents (http level, server)."""
    found = []

    def visit(block: list[Directive], outer: list[list[Directive]]) -> None:
        for directive in block:
            if directive["directive"] == "server" and "block" in directive:
                found.append((directive, [*outer, directive["block"]]))
            elif directive["directive"] == "http" and "block" in directive:
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
    """For every server that serves content, the location it picks for the socket path."""
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


def maps(tree: list[Directive]) -> dict[str, Directive]:
    """`map $source $variable {...}` blocks by the variable they define."""
    return {d["args"][1]: d for d in walk(tree) if d["directive"] == "map" and len(d["args"]) == 2}


def socket_read_timeout(path: Path, socket_path: str) -> tuple[float, str] | None:
    """proxy_read_timeout for the socket path (seconds, where), from the first server that proxies it."""
    for route in routes(load(path), socket_path):
        if route.own("proxy_pass") is not None:
            try:
                return route.read_timeout()
            except ValueError:
                return None
    return None
