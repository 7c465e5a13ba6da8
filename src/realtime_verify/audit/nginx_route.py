"""Where one socket request goes inside a server, step by step as nginx processes it.

1. The server's rewrite directives (`return`, `rewrite`, `if`, `set`, `break`) run before any
   location is searched: an unconditional `return 301` there answers everything.
2. The location: `=` exact match; else the longest prefix, final when `^~`; else the first regex in
   file order (nested locations searched inside the matching one); else that longest prefix.
3. That location's rewrite directives (`if ($http_upgrade ...) { return 418; }` and the like), then
   `try_files` (the socket path is assumed not to be a file under root, so the last argument
   applies), `error_page N = @name` for a returned code, and named locations, which inherit from the
   server and http levels, not from the location that handed the request over.
4. The content: `proxy_pass` (proxied), or files/another handler.

Two requests are routed: a polling request (no Upgrade header) and the WebSocket upgrade
(`Upgrade: websocket`); a configuration may send them to different places.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from realtime_verify.audit.nginx_files import Directive, Unreadable, where
from realtime_verify.audit.nginx_servers import Server
from realtime_verify.audit.nginx_values import Request, Variables, python_regex, unreadable_in

Outcome = Literal["proxy", "redirect", "reject", "status", "static", "unknown"]
REDIRECT_CODES = {301, 302, 303, 307, 308}
MAX_REDIRECTS = 10  # nginx's own limit on internal redirects
OTHER_HANDLERS = ("fastcgi_pass", "uwsgi_pass", "grpc_pass", "scgi_pass", "memcached_pass", "return")


@dataclass
class Route:
    """Where nginx sends one socket request in one server, and how it got there."""

    server: Server
    request: Request
    variables: Variables
    outcome: Outcome = "static"
    location: Directive | None = None  # the block that answers (None: the server itself)
    chain: list[list[Directive]] = field(default_factory=list)  # innermost block first
    uri: str = ""
    rewritten: bool = False
    steps: list[str] = field(default_factory=list)
    detail: str = ""
    unknown: Unreadable | None = None  # an unreadable include that could change the route

    @property
    def proxy_pass(self) -> Directive | None:
        block = self.location["block"] if self.location else []
        return next((d for d in block if d["directive"] == "proxy_pass" and d.get("args")), None)

    @property
    def anchor(self) -> str:
        return where(self.location or self.server.directive)

    def describe(self) -> str:
        return " -> ".join(self.steps) or where(self.server.directive)

    @property
    def block(self) -> str:
        """The answering block in words: `location /socket.io/`, `location @app`, or the server itself."""
        if self.location is None:
            return "the server block (no location matches)"
        return "location " + " ".join(str(a) for a in self.location["args"])


@dataclass
class _Rewrite:
    action: Literal["continue", "break", "last", "redirect", "status", "unknown"]
    uri: str
    directive: Directive | None = None
    code: int = 0


def route(server: Server, request: Request, variables: Variables) -> Route:
    """Follow `request` through `server` as nginx would."""
    found = Route(server, request, variables, uri=request.path, chain=server.chain)
    result = _rewrite_phase(server.block, found, request.path)
    if _finish_rewrite(found, result, server.chain, "the server's"):
        return found
    uri = result.uri
    for _ in range(MAX_REDIRECTS):
        location, parents = find_location(server.block, uri)
        found.uri = uri
        if location is None:
            found.location, found.chain = None, server.chain
            found.unknown = found.unknown or unreadable_in(server.block)
            try_files = next((d for d in server.block if d["directive"] == "try_files"), None)
            if try_files is None:
                found.outcome = "static"
                found.detail = f"no location matches {uri}: the server answers from its root (files)"
                return found
            next_uri = _try_files(found, try_files)
        else:
            chain = [location["block"], *(p["block"] for p in reversed(parents)), *server.chain]
            next_uri = _in_location(found, location, chain, uri)
        if next_uri is None:
            return found
        uri = next_uri
    found.outcome, found.detail = "unknown", f"more than {MAX_REDIRECTS} internal redirects"
    return found


def _in_location(found: Route, location: Directive, chain: list[list[Directive]], uri: str) -> str | None:
    """Process `location`; the URI to search again, or None when the route is decided."""
    found.location, found.chain = location, chain
    found.steps.append(f"location {' '.join(str(a) for a in location['args'])} ({where(location)})")
    found.unknown = found.unknown or unreadable_in(location["block"])
    result = _rewrite_phase(location["block"], found, uri)
    if _finish_rewrite(found, result, chain, "the location's"):
        return None
    if result.action == "last" or (result.uri != uri and result.action == "continue"):
        return result.uri
    found.uri, found.rewritten = result.uri, result.uri != uri
    block = location["block"]
    try_files = next((d for d in block if d["directive"] == "try_files"), None)
    if try_files is not None:
        return _try_files(found, try_files)
    if found.proxy_pass is not None:
        found.outcome = "proxy"
        return None
    other = next((d for d in block if d["directive"] in OTHER_HANDLERS), None)
    found.outcome = "static"
    found.detail = f"location {' '.join(str(a) for a in location['args'])} ({where(location)})" + (
        f" answers with {other['directive']} ({where(other)})" if other else " serves files; it does not proxy"
    )
    return None


def _finish_rewrite(found: Route, result: _Rewrite, chain: list[list[Directive]], level: str) -> bool:
    """Settle a redirect, a returned code or an unknown rewrite; True when the route is decided."""
    if result.action in ("continue", "break", "last"):
        return False
    at = where(result.directive) if result.directive else ""
    if result.action == "unknown":
        found.outcome, found.detail = "unknown", f"{level} rewrite at {at} cannot be followed"
        return True
    if result.action == "redirect":
        found.outcome, found.detail = "redirect", f"{level} `{_text(result.directive)}` at {at} redirects it"
        return True
    if result.code == 444:
        found.outcome, found.detail = "reject", f"`return 444` at {at} closes the connection"
        return True
    target = _error_page(chain, result.code)
    if target is not None and target[0].startswith("@"):
        found.steps.append(
            f"return {result.code} ({at}) -> error_page {result.code} = {target[0]} ({where(target[1])})"
        )
        _named(found, target[0])
        return True
    found.outcome, found.detail = "status", f"{level} `return {result.code}` at {at} answers it with {result.code}"
    return True


def _named(found: Route, name: str) -> None:
    """Hand the request to the named location `name` (inheriting from the server, not the caller)."""
    server = found.server
    named = next((d for d in server.block if d["directive"] == "location" and d.get("args") == [name]), None)
    if named is None:
        missing = unreadable_in(server.block)
        found.outcome = "unknown" if missing else "status"
        found.unknown = found.unknown or missing
        found.detail = f"no `location {name}` in the server at {where(server.directive)} (nginx answers 500)"
        return
    if len(found.steps) > 2 * MAX_REDIRECTS:
        found.outcome, found.detail = "unknown", f"{name} loops"
        return
    next_uri = _in_location(found, named, [named["block"], *server.chain], found.uri)
    if next_uri is not None:
        found.outcome, found.detail = "static", f"{name} sends the request on to {next_uri}, not to a backend"


def _try_files(found: Route, directive: Directive) -> str | None:
    args = [str(a) for a in directive.get("args") or []]
    fallback = args[-1] if args else ""
    found.steps.append(f"try_files ({where(directive)}): no file for {found.uri}, so {fallback}")
    if fallback.startswith("@"):
        _named(found, fallback)
        return None
    if fallback.startswith("="):
        code = int(fallback[1:]) if fallback[1:].isdigit() else 404
        found.outcome, found.detail = "status", f"try_files at {where(directive)} answers {code}"
        return None
    found.outcome = "static"
    found.detail = f"try_files at {where(directive)} falls back to {fallback}: a file, not the backend"
    return None


def _error_page(chain: list[list[Directive]], code: int) -> tuple[str, Directive] | None:
    """The error_page target for `code`, from the innermost level that has any error_page."""
    for block in chain:
        pages = [d for d in block if d["directive"] == "error_page" and d.get("args")]
        if not pages:
            continue
        for page in pages:
            args = [str(a) for a in page["args"]]
            if str(code) in args[:-1]:
                return args[-1], page
        return None
    return None


def _rewrite_phase(block: list[Directive], found: Route, uri: str) -> _Rewrite:
    variables = found.variables
    changed = uri
    for directive in block:
        name, args = directive["directive"], [str(a) for a in directive.get("args") or []]
        if name == "set" and len(args) == 2:
            variables.assigned[args[0].lstrip("$").strip("{}")] = variables.evaluate(args[1])
        elif name == "return":
            return _return(directive, args)
        elif name == "break":
            return _Rewrite("break", changed, directive)
        elif name == "rewrite" and len(args) >= 2:
            pattern = python_regex(args[0])
            if pattern is None:
                return _Rewrite("unknown", changed, directive)
            match = pattern.search(changed)
            if match is None:
                continue
            flag = args[2] if len(args) > 2 else ""
            if args[1].startswith(("http://", "https://", "$scheme")) or flag in ("redirect", "permanent"):
                return _Rewrite("redirect", changed, directive)
            replaced = variables.evaluate(_captures(args[1], [match.group(0), *match.groups()]))
            if replaced is None:
                return _Rewrite("unknown", changed, directive)
            changed = replaced.split("?")[0]
            if flag in ("last", "break"):
                return _Rewrite(flag, changed, directive)  # type: ignore[arg-type]
        elif name == "if" and "block" in directive:
            holds = condition(args, variables)
            if holds is None:
                found.steps.append(f"if ({' '.join(args)}) at {where(directive)}: assumed not to match")
            elif holds:
                inner = _rewrite_phase(directive["block"], found, changed)
                if inner.action != "continue":
                    return inner
                changed = inner.uri
    return _Rewrite("continue", changed)


def _captures(replacement: str, groups: list[str | None]) -> str:
    """`$1`..`$9` of a rewrite replacement filled from the regex match."""
    return re.sub(r"\$(\d)", lambda m: (groups[int(m[1])] if int(m[1]) < len(groups) else "") or "", replacement)


def _return(directive: Directive, args: list[str]) -> _Rewrite:
    if args and not args[0].isdigit():
        return _Rewrite("redirect", "", directive, 302)  # `return URL`
    code = int(args[0]) if args else 444
    action: Literal["redirect", "status"] = "redirect" if code in REDIRECT_CODES else "status"
    return _Rewrite(action, "", directive, code)


def condition(args: list[str], variables: Variables) -> bool | None:
    """An `if` condition for this request; None when it cannot be known (then nginx may go either way)."""
    if len(args) == 2 and args[0].lstrip("!") in ("-f", "-d", "-e", "-x"):
        return args[0].startswith("!")  # the socket path is no file or folder under root
    if len(args) == 1:
        value = variables.evaluate(args[0])
        return None if value is None else value not in ("", "0")
    if len(args) != 3:
        return None
    left, operator, right = variables.evaluate(args[0]), args[1], args[2]
    if left is None:
        return None
    if operator in ("=", "!="):
        value = variables.evaluate(right)
        return None if value is None else (left == value) == (operator == "=")
    if operator in ("~", "~*", "!~", "!~*"):
        pattern = python_regex(right, "*" in operator)
        return None if pattern is None else bool(pattern.search(left)) != operator.startswith("!")
    return None


def find_location(block: list[Directive], uri: str) -> tuple[Directive | None, list[Directive]]:
    """The location nginx picks for `uri` in a server block, and the locations it is nested in."""
    location, parents, _ = _find(block, uri)
    return location, parents


def _find(block: list[Directive], uri: str) -> tuple[Directive | None, list[Directive], str]:
    # rc as in ngx_http_core_find_location: "ok" (final), "again" (a prefix matched), "declined".
    locations = [d for d in block if d["directive"] == "location" and d.get("args") and "block" in d]
    for location in locations:
        if [str(a) for a in location["args"]] == ["=", uri]:
            return location, [], "ok"
    prefixes = [
        loc
        for loc in locations
        if (len(loc["args"]) == 1 and not str(loc["args"][0]).startswith("@")) or loc["args"][0] == "^~"
    ]
    matching = [loc for loc in prefixes if len(loc["args"]) <= 2 and uri.startswith(str(loc["args"][-1]))]
    best = max(matching, key=lambda loc: len(str(loc["args"][-1])), default=None)
    current: Directive | None = None
    parents: list[Directive] = []
    rc, noregex = "declined", False
    if best is not None:
        current, rc, noregex = best, "again", best["args"][0] == "^~"
        inner, inner_parents, inner_rc = _find(best["block"], uri)
        if inner_rc == "ok":
            return inner, [best, *inner_parents], "ok"
        if inner_rc == "again":
            current, parents = inner, [best, *inner_parents]
    if not noregex:
        for location in locations:
            modifier = str(location["args"][0])
            if len(location["args"]) != 2 or modifier not in ("~", "~*"):
                continue
            pattern = python_regex(str(location["args"][1]), modifier == "~*")
            if pattern is not None and pattern.search(uri):
                inner, inner_parents, inner_rc = _find(location["block"], uri)
                if inner_rc != "declined":
                    return inner, [location, *inner_parents], "ok"
                return location, [], "ok"
    return current, parents, rc


def _text(directive: Directive | None) -> str:
    if directive is None:
        return ""
    return " ".join([str(directive["directive"]), *(str(a) for a in directive.get("args") or [])])
