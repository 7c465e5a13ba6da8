"""A small evaluator of Cloudflare's Rules language, for the question "does this rule match a
socket.io request?".

It knows the fields a socket request has (path, URI, query, host, method, scheme) and the operators
and functions rules about paths use. Everything else (IP lists, bot scores, headers, unknown
functions) evaluates to UNKNOWN, and UNKNOWN propagates with three-valued logic: a rule whose result
is UNKNOWN is reported as "needs review" with its expression, never silently passed.

Grammar (the subset):
    expr       := or
    or         := xor (("or" | "||") xor)*
    xor        := and (("xor" | "^^") and)*
    and        := not (("and" | "&&") not)*
    not        := ("not" | "!") not | primary
    primary    := "(" expr ")" | value [op value | "in" set]
    value      := field | function "(" value ("," value)* ")" | string | number | bare
    op         := eq ne lt le gt ge contains matches wildcard "strict wildcard" == != < <= > >= ~
    set        := "{" (string | number | bare)* "}" | $list

One module on purpose: a tokenizer, a recursive-descent parser and its three-valued evaluation belong together.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import Any
from urllib.parse import unquote, urlsplit


class Tri(Enum):
    """Three-valued truth: what cannot be evaluated is UNKNOWN, not false."""

    TRUE = "true"
    FALSE = "false"
    UNKNOWN = "unknown"

    @classmethod
    def of(cls, value: bool) -> Tri:
        return cls.TRUE if value else cls.FALSE


class Unknown:
    """A value the evaluator cannot know (a field or function outside the subset)."""

    def __init__(self, what: str) -> None:
        self.what = what

    def __repr__(self) -> str:
        return f"Unknown({self.what})"


class RuleSyntaxError(ValueError):
    """The expression is not in the subset this evaluator parses."""


@dataclass(frozen=True)
class SocketRequest:
    """One request of a socket.io client, as the Rules language sees it."""

    url: str
    method: str = "GET"

    def fields(self) -> dict[str, Any]:
        parts = urlsplit(self.url)
        uri = parts.path + (f"?{parts.query}" if parts.query else "")
        return {
            "http.request.uri.path": parts.path,
            "http.request.uri": uri,
            "http.request.uri.query": parts.query,
            "http.request.full_uri": self.url,
            "http.host": parts.hostname or "",
            "http.request.method": self.method,
            "ssl": parts.scheme in ("https", "wss"),
            "http.request.uri.path.extension": "",
            "raw.http.request.uri.path": parts.path,
            "raw.http.request.uri": uri,
            "raw.http.request.uri.query": parts.query,
        }


def socket_requests(host: str, socket_path: str = "/socket.io/") -> list[SocketRequest]:
    """The requests a socket.io client makes: polling handshake, polling POST, websocket upgrade."""
    base = f"https://{host}{socket_path}"
    return [
        SocketRequest(f"{base}?EIO=4&transport=polling&t=Pabc123"),
        SocketRequest(f"{base}?EIO=4&transport=polling&t=Pabc124&sid=abc", "POST"),
        SocketRequest(f"{base}?EIO=4&transport=websocket&sid=abc"),
    ]


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<rawstring>r\#*"[^"]*"\#*)
      | (?P<op>==|!=|<=|>=|&&|\|\||\^\^|[(){},<>~!])
      | (?P<word>\$?[A-Za-z0-9_.:/*\-]+)
    )""",
    re.VERBOSE,
)
_COMPARISONS = {
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "contains",
    "matches",
    "wildcard",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "~",
}
_KEYWORDS = {"and", "or", "xor", "not", "in", "strict"} | _COMPARISONS


def _tokens(expression: str) -> list[str]:
    tokens, position = [], 0
    expression = expression.strip()
    while position < len(expression):
        match = _TOKEN.match(expression, position)
        if not match or match.end() == position:
            raise RuleSyntaxError(f"cannot read the expression at {expression[position : position + 20]!r}")
        tokens.append(match.group(match.lastgroup or "word"))
        position = match.end()
        while position < len(expression) and expression[position].isspace():
            position += 1
    return tokens


class _Parser:
    def __init__(self, expression: str, fields: dict[str, Any]) -> None:
        self.tokens = _tokens(expression)
        self.position = 0
        self.fields = fields

    def peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if token is None or (expected is not None and token.lower() != expected):
            raise RuleSyntaxError(f"expected {expected or 'more'}, found {token!r}")
        self.position += 1
        return token

    def parse(self) -> Tri:
        result = self.or_()
        if self.peek() is not None:
            raise RuleSyntaxError(f"unexpected {self.peek()!r}")
        return result

    def or_(self) -> Tri:
        result = self.xor()
        while (self.peek() or "").lower() in ("or", "||"):
            self.take()
            right = self.xor()
            result = (
                Tri.TRUE
                if Tri.TRUE in (result, right)
                else Tri.UNKNOWN
                if Tri.UNKNOWN in (result, right)
                else Tri.FALSE
            )
        return result

    def xor(self) -> Tri:
        result = self.and_()
        while (self.peek() or "").lower() in ("xor", "^^"):
            self.take()
            right = self.and_()
            result = Tri.UNKNOWN if Tri.UNKNOWN in (result, right) else Tri.of(result != right)
        return result

    def and_(self) -> Tri:
        result = self.not_()
        while (self.peek() or "").lower() in ("and", "&&"):
            self.take()
            right = self.not_()
            result = (
                Tri.FALSE
                if Tri.FALSE in (result, right)
                else Tri.UNKNOWN
                if Tri.UNKNOWN in (result, right)
                else Tri.TRUE
            )
        return result

    def not_(self) -> Tri:
        if (self.peek() or "").lower() in ("not", "!"):
            self.take()
            inner = self.not_()
            return {Tri.TRUE: Tri.FALSE, Tri.FALSE: Tri.TRUE, Tri.UNKNOWN: Tri.UNKNOWN}[inner]
        return self.primary()

    def primary(self) -> Tri:
        if self.peek() == "(":
            self.take("(")
            result = self.or_()
            self.take(")")
            return result
        left = self.value()
        token = (self.peek() or "").lower()
        if token == "strict":
            self.take()
            self.take("wildcard")
            return _compare("strict wildcard", left, self.value())
        if token in _COMPARISONS:
            self.take()
            return _compare(token, left, self.value())
        if token == "in":
            self.take()
            return _member(left, self.set_())
        if isinstance(left, Unknown):
            return Tri.UNKNOWN
        if isinstance(left, bool):
            return Tri.of(left)
        raise RuleSyntaxError(f"{left!r} is not a condition")

    def set_(self) -> list[Any] | Unknown:
        if (self.peek() or "").startswith("$"):
            return Unknown(f"list {self.take()}")
        self.take("{")
        items: list[Any] = []
        while self.peek() != "}":
            items.append(self.literal(self.take()))
        self.take("}")
        return items

    def value(self) -> Any:
        token = self.take()
        if token.lower() in _KEYWORDS:
            raise RuleSyntaxError(f"expected a value, found {token!r}")
        if self.peek() == "(":
            return self.call(token)
        if token.startswith('"') or re.fullmatch(r'r#*".*"#*', token):
            return self.literal(token)
        if token in self.fields:
            return self.fields[token]
        if re.fullmatch(r"-?\d+", token):
            return int(token)
        if token in ("true", "false"):
            return token == "true"
        # A field outside the subset (headers, bot scores, ip.src...): it could be anything.
        return Unknown(token)

    def literal(self, token: str) -> Any:
        if token.startswith('"'):
            return bytes(token[1:-1], "utf-8").decode("unicode_escape")
        if token.startswith("r"):
            return token.strip("r#")[1:-1]
        if re.fullmatch(r"-?\d+", token):
            return int(token)
        return token

    def call(self, name: str) -> Any:
        self.take("(")
        args = [self.value()]
        while self.peek() == ",":
            self.take(",")
            args.append(self.value())
        self.take(")")
        if any(isinstance(arg, Unknown) for arg in args):
            return Unknown(f"{name}(...)")
        function = name.lower()
        if function == "lower" and len(args) == 1:
            return str(args[0]).lower()
        if function == "upper" and len(args) == 1:
            return str(args[0]).upper()
        if function == "url_decode" and len(args) >= 1:
            return unquote(str(args[0]))
        if function == "starts_with" and len(args) == 2:
            return str(args[0]).startswith(str(args[1]))
        if function == "ends_with" and len(args) == 2:
            return str(args[0]).endswith(str(args[1]))
        if function == "len" and len(args) == 1:
            return len(str(args[0]))
        if function == "concat":
            return "".join(str(arg) for arg in args)
        return Unknown(f"{name}()")


def _compare(op: str, left: Any, right: Any) -> Tri:
    if isinstance(left, Unknown) or isinstance(right, Unknown):
        return Tri.UNKNOWN
    if op in ("eq", "=="):
        return Tri.of(left == right)
    if op in ("ne", "!="):
        return Tri.of(left != right)
    if op == "contains":
        return Tri.of(str(right) in str(left))
    if op in ("matches", "~"):
        try:
            return Tri.of(re.search(str(right), str(left)) is not None)
        except re.error:
            return Tri.UNKNOWN
    if op == "wildcard":
        return Tri.of(wildcard_matches(str(right), str(left), case_sensitive=False))
    if op == "strict wildcard":
        return Tri.of(wildcard_matches(str(right), str(left), case_sensitive=True))
    if isinstance(left, int) and isinstance(right, int):
        return Tri.of(
            {
                "lt": left < right,
                "<": left < right,
                "le": left <= right,
                "<=": left <= right,
                "gt": left > right,
                ">": left > right,
                "ge": left >= right,
                ">=": left >= right,
            }[op]
        )
    return Tri.UNKNOWN


def _member(value: Any, items: list[Any] | Unknown) -> Tri:
    if isinstance(value, Unknown) or isinstance(items, Unknown):
        return Tri.UNKNOWN
    return Tri.of(value in items)


def wildcard_matches(pattern: str, value: str, *, case_sensitive: bool) -> bool:
    """Cloudflare's wildcard: `*` matches any run of characters; nothing else is special (not `?`, not `[...]`)."""
    regex = ".*".join(re.escape(part) for part in pattern.split("*"))
    return re.fullmatch(regex, value, 0 if case_sensitive else re.IGNORECASE | re.DOTALL) is not None


def url_pattern_matches(pattern: str, url: str) -> bool:
    """A page rule's URL pattern (`*` wildcards, no scheme needed) against a URL without its scheme,
    or with it when the pattern has one. A pattern with no trailing `*` matches the URL's prefix up to
    its query, as Cloudflare compares the URL it normalised."""
    subject = url.lower()
    pattern = pattern.lower()
    return wildcard_matches(pattern, subject, case_sensitive=True) or wildcard_matches(
        pattern + "*", subject, case_sensitive=True
    )


def evaluate(expression: str, request: SocketRequest) -> Tri:
    """Does `expression` match `request`? UNKNOWN when it depends on what the subset cannot know."""
    try:
        return _Parser(expression, request.fields()).parse()
    except RuleSyntaxError:
        return Tri.UNKNOWN


def matches_any(expression: str, requests: list[SocketRequest]) -> Tri:
    """TRUE if the rule matches one of the socket requests, UNKNOWN if it might, else FALSE."""
    results = [evaluate(expression, request) for request in requests]
    if Tri.TRUE in results:
        return Tri.TRUE
    return Tri.UNKNOWN if Tri.UNKNOWN in results else Tri.FALSE
