"""What nginx would do with a setting: inheritance, variables, maps, and proxy_pass's URI rule.

- `effective()` looks a directive up from the innermost block out, the way nginx inherits it; an
  unreadable include met on the way makes the answer unknown (it could set the directive there).
- `headers()` applies proxy_set_header's own rule: the lines of the innermost level that has any,
  all outer ones dropped.
- `Request` is one socket request as nginx sees it, and `evaluate()` computes a value such as
  `$host:$server_port` or a `map` variable for it; None means it cannot be known from what was given.
- `backend_path()` is the path proxy_pass sends upstream (a URI part replaces the matched prefix).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from realtime_verify.audit.nginx_files import Directive, Unreadable

_VARIABLE = re.compile(r"\$(?:\{(\w+)\}|(\w+))")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "M": 2592000, "y": 31536000}
RequestKind = Literal["polling", "upgrade"]


def parse_duration(value: str) -> float:
    """An nginx time value ("75s", "1m30s", "500ms", "120") in seconds."""
    parts = re.findall(r"(\d+)(ms|[smhdwMy])?", value)
    if not parts or "".join(n + u for n, u in parts) != value:
        raise ValueError(f"not an nginx time: {value!r}")
    return sum(int(number) * _UNITS[unit or "s"] for number, unit in parts)


def unreadable_in(block: list[Directive]) -> Unreadable | None:
    found = next((d["unreadable"] for d in block if "unreadable" in d), None)
    return found if isinstance(found, Unreadable) else None


@dataclass(frozen=True)
class Lookup:
    """A directive in effect (None: set nowhere, nginx's default), or the include that hides it."""

    directive: Directive | None
    unknown: Unreadable | None = None


def effective(chain: list[list[Directive]], name: str) -> Lookup:
    """`name` as inherited along `chain` (innermost block first)."""
    for block in chain:
        found = next((d for d in block if d["directive"] == name), None)
        if found is not None:
            return Lookup(found)
        missing = unreadable_in(block)
        if missing is not None:
            return Lookup(None, missing)
    return Lookup(None)


@dataclass(frozen=True)
class Headers:
    """The proxy_set_header lines in effect, the outer ones they hide, and an include that could change them."""

    lines: list[Directive]
    hidden: list[Directive]
    unknown: Unreadable | None = None

    def get(self, name: str) -> Directive | None:
        return next((d for d in self.lines if d["args"] and str(d["args"][0]).lower() == name.lower()), None)


def headers(chain: list[list[Directive]]) -> Headers:
    for depth, block in enumerate(chain):
        own = [d for d in block if d["directive"] == "proxy_set_header" and len(d["args"]) >= 2]
        missing = unreadable_in(block)
        if own:
            hidden = [d for outer in chain[depth + 1 :] for d in outer if d["directive"] == "proxy_set_header"]
            return Headers(own, hidden, missing)
        if missing is not None:
            # The include may hold this level's headers (hiding the outer ones) or none at all.
            outer = headers(chain[depth + 1 :])
            return Headers(outer.lines, outer.hidden, missing)
    return Headers([], [])


@dataclass(frozen=True)
class Request:
    """One socket request as nginx sees it, on one server (None: not known from what was given)."""

    kind: RequestKind
    path: str
    host: str | None  # the public host name the browser sends
    port: int | None  # the explicit port of the public URL (None: the default port)
    scheme: str | None  # the browser's scheme: https or http
    nginx_scheme: str  # $scheme: https when nginx itself terminates TLS
    server_port: int  # $server_port: the port nginx listens on
    edge_proto: str | None  # X-Forwarded-Proto from a TLS-terminating edge ("" when there is none)
    server_name: str | None = None

    @property
    def query(self) -> str:
        transport = "websocket" if self.kind == "upgrade" else "polling"
        return f"EIO=4&transport={transport}"

    def known(self) -> dict[str, str | None]:
        http_host = None if self.host is None else self.host + (f":{self.port}" if self.port else "")
        return {
            "uri": self.path,
            "document_uri": self.path,
            "request_uri": f"{self.path}?{self.query}",
            "args": self.query,
            "query_string": self.query,
            "is_args": "?",
            "arg_eio": "4",
            "arg_transport": "websocket" if self.kind == "upgrade" else "polling",
            "request_method": "GET",
            "scheme": self.nginx_scheme,
            "https": "on" if self.nginx_scheme == "https" else "",
            "host": self.host,
            "http_host": http_host,
            "server_port": str(self.server_port),
            "server_name": self.server_name,
            "http_upgrade": "websocket" if self.kind == "upgrade" else "",
            "http_connection": "Upgrade" if self.kind == "upgrade" else "keep-alive",
            "http_x_forwarded_proto": self.edge_proto,
            "http_x_forwarded_host": "",
        }


@dataclass
class Variables:
    """Variable values for one request: the request's own, `set` ones, and `map` definitions."""

    request: Request
    maps: dict[str, Directive]
    assigned: dict[str, str | None] = field(default_factory=dict)

    def value(self, name: str, depth: int = 0) -> str | None:
        if name in self.assigned:
            return self.assigned[name]
        known = self.request.known()
        if name in known:
            return known[name]
        mapping = self.maps.get("$" + name)
        if mapping is not None and depth < 8:
            return self._map(mapping, depth + 1)
        return None

    def evaluate(self, text: str, depth: int = 0) -> str | None:
        """`text` with its variables replaced; None when one of them cannot be known."""
        out, last = [], 0
        for match in _VARIABLE.finditer(text):
            value = self.value(match[1] or match[2], depth)
            if value is None:
                return None
            out += [text[last : match.start()], value]
            last = match.end()
        return "".join([*out, text[last:]])

    def _map(self, mapping: Directive, depth: int) -> str | None:
        source = self.evaluate(str(mapping["args"][0]), depth)
        if source is None:
            return None
        default, regexes = "", []
        for entry in mapping.get("block", []):
            key, args = str(entry["directive"]), entry.get("args") or []
            if "unreadable" in entry:
                return None
            if key == "default":
                default = str(args[0]) if args else ""
            elif key.startswith("~"):
                regexes.append((key, str(args[0]) if args else ""))
            elif key in ("hostnames", "volatile"):
                continue
            elif key.lower() == source.lower():
                return self.evaluate(str(args[0]) if args else "", depth)
        for key, value in regexes:
            pattern = python_regex(key[2:] if key.startswith("~*") else key[1:], key.startswith("~*"))
            if pattern is None:
                return None
            if pattern.search(source):
                return self.evaluate(value, depth)
        return self.evaluate(default, depth)


def python_regex(pattern: str, ignore_case: bool = False) -> re.Pattern[str] | None:
    """A PCRE pattern of an nginx conf as a Python regex (None when Python cannot read it)."""
    try:
        return re.compile(
            pattern.replace("(?<", "(?P<").replace("(?P<=", "(?<=").replace("(?P<!", "(?<!"),
            re.IGNORECASE if ignore_case else 0,
        )
    except re.error:
        return None


def maps_of(http_blocks: list[list[Directive]]) -> dict[str, Directive]:
    """`map $source $variable {...}` of the http level, by the variable they define."""
    return {
        str(d["args"][1]): d
        for block in http_blocks
        for d in block
        if d["directive"] == "map" and len(d.get("args") or []) == 2
    }


@dataclass(frozen=True)
class Upstream:
    """What proxy_pass sends: the backend's scheme and Host ($proxy_host), and the path (None: unknown)."""

    scheme: str
    proxy_host: str
    path: str | None
    why: str


def backend_path(proxy_pass: Directive, location: Directive | None, uri: str, rewritten: bool) -> Upstream:
    """The path nginx sends upstream for `uri` through `proxy_pass` in `location`."""
    url = str(proxy_pass["args"][0]) if proxy_pass.get("args") else ""
    scheme, _, rest = url.partition("://")
    if rest.startswith("unix:"):
        socket_and_uri = rest[len("unix:") :]
        host, _, uri_part = socket_and_uri.partition(":")
        uri_part = uri_part or ""
        host = "localhost"
    else:
        slash = rest.find("/")
        host, uri_part = (rest, "") if slash < 0 else (rest[:slash], rest[slash:])
    has_variables = "$" in url
    if has_variables:
        tail = re.search(r"\$(request_uri|\{request_uri\})$", rest)
        if tail and "/" not in rest[: tail.start()]:
            return Upstream(scheme, rest[: tail.start()], uri, "proxy_pass passes $request_uri")
        if not uri_part:
            return Upstream(scheme, host, uri, "proxy_pass has no URI part")
        return Upstream(scheme, host, None, f"proxy_pass {url} has variables and a URI part, passed as written")
    if not uri_part or rewritten:
        return Upstream(scheme, host, uri, "proxy_pass has no URI part" if not uri_part else "after rewrite ... break")
    args = location.get("args") if location else None
    if not args or len(args) > 2 or (len(args) == 2 and args[0] not in ("=", "^~")):
        return Upstream(scheme, host, None, f"proxy_pass {url} has a URI part where nginx does not allow one")
    prefix = str(args[-1])
    if not uri.startswith(prefix):
        return Upstream(scheme, host, None, f"{uri} does not start with the location's prefix {prefix}")
    return Upstream(scheme, host, uri_part + uri[len(prefix) :], f"proxy_pass {url} replaces {prefix} with {uri_part}")
