"""`.env` files as Next.js reads them, in linear time.

The format is dotenv's (the `dotenv` npm package that @next/env uses): `KEY=value` or `KEY: value`,
an optional `export `, values unquoted (cut at `#`, trimmed), or in single, double or back quotes
(which may span lines; `\\n` is a newline in double quotes). `$VAR`, `${VAR}` and `${VAR:-default}`
are expanded the way dotenv-expand does, from the values of the files loaded together (not from this
machine's environment); a reference that none of them sets is unknown, not empty.

python-dotenv is not used here: its reader is quadratic (a 10 MB file took minutes). This scanner
reads only the keys asked for, so huge files cost one pass per round of references.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from realtime_verify.audit.env_model import NAMES, EnvSource, EnvValue
from realtime_verify.audit.files import read_input

_REFERENCE = re.compile(r"(\\?)\$(?:\{(\w+)(?:(:?[-+?])([^}]*))?\}|(\w+))")
_PREFIX = re.compile(r"[ \t]*(?:export[ \t]+)?")
_ASSIGN = re.compile(r"[ \t]*(?:=|:[ \t])[ \t]*")
_KEY_PREFIX = re.compile(r"[ \t]*(?:export[ \t]+)?[\w.-]+[ \t]*(?:=|:[ \t])[ \t]*")
QUOTES = "'\"`"
MAX_ROUNDS = 5


@dataclass(frozen=True)
class Entry:
    """One `KEY=value` of a dotenv text: the raw value, its quote, and the line of the key."""

    raw: str
    quote: str
    line: int


class DotenvText:
    """A dotenv text, searched for the keys asked for; linear in its size whatever is asked.

    Only values that span lines (a quote opened on one line and closed on a later one) can hide a
    `KEY=` line, so those are found once, with a cheap test per line (an odd number of a quote
    character is needed to open one), and keys are then looked up with `str.find`.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.hidden = self._multiline_values()  # (first, last) line numbers inside such values

    def _multiline_values(self) -> list[tuple[int, int]]:
        spans: list[tuple[int, int]] = []
        lines = self.text.split("\n")
        unclosed: dict[str, int] = {}  # quote -> a line after which it never closes (keeps this linear)
        number, total = 0, len(lines)
        while number < total:
            opened = _opens(lines[number])
            number += 1
            if not opened or number > unclosed.get(opened, total):
                continue
            closing = number
            while closing < total and _closing_in(lines[closing], opened) < 0:
                closing += 1
            if closing < total:
                spans.append((number + 1, closing + 1))  # 1-based lines inside the value
                number = closing + 1
            else:
                unclosed[opened] = number - 1  # a stray quote: dotenv reads that value unquoted
        return spans

    def _closing(self, quote: str, start: int) -> int:
        at = self.text.find(quote, start)
        while at > 0 and quote == '"' and _escaped(self.text, at):
            at = self.text.find(quote, at + 1)
        return at

    def _inside(self, line: int) -> bool:
        index = bisect.bisect_right(self.hidden, (line, line)) - 1
        return index >= 0 and self.hidden[index][0] <= line <= self.hidden[index][1]

    def entries(self, wanted: Iterable[str]) -> dict[str, Entry]:
        """The entries whose key is in `wanted` (the last one of a key wins, as in dotenv)."""
        text = self.text
        found: dict[str, Entry] = {}
        last: dict[str, int] = {}
        for key in set(wanted):
            hit = text.find(key)
            while hit >= 0:
                line_start = text.rfind("\n", 0, hit) + 1
                assign = _ASSIGN.match(text, hit + len(key))
                if assign and _PREFIX.fullmatch(text, line_start, hit):
                    entry = self._value(key, assign.end(), hit)
                    if self._inside(entry.line):
                        hit = text.find(key, hit + len(key))
                        continue
                    if hit > last.get(key, -1):
                        found[key], last[key] = entry, hit
                hit = text.find(key, hit + len(key))
        return found

    def _value(self, key: str, start: int, hit: int) -> Entry:
        text = self.text
        line = text.count("\n", 0, hit) + 1
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        quote = text[start] if start < end and text[start] in QUOTES else ""
        close = self._closing(quote, start + 1) if quote else -1
        if quote and close >= 0:
            raw = text[start + 1 : close]
            return Entry(raw.replace("\\n", "\n").replace("\\r", "\r") if quote == '"' else raw, quote, line)
        return Entry(text[start:end].split("#", 1)[0].strip(), "", line)


def _opens(line: str) -> str:
    """The quote a line opens and leaves open (a value that continues on the next line), or ""."""
    odd = [q for q in QUOTES if q in line and (line.count(q) - (line.count("\\" + q) if q == '"' else 0)) % 2 == 1]
    if not odd:
        return ""
    found = _KEY_PREFIX.match(line)
    if found is None or found.end() >= len(line) or line[found.end()] not in odd:
        return ""
    quote = line[found.end()]
    return quote if _closing_in(line[found.end() + 1 :], quote) < 0 else ""


def _closing_in(line: str, quote: str) -> int:
    at = line.find(quote)
    while at > 0 and quote == '"' and _escaped(line, at):
        at = line.find(quote, at + 1)
    return at


def scan(text: str, wanted: Iterable[str]) -> dict[str, Entry]:
    """The entries of `text` whose key is in `wanted` (the last one of a key wins, as in dotenv)."""
    return DotenvText(text).entries(wanted)


def _escaped(text: str, at: int) -> bool:
    backslashes = 0
    while at - backslashes - 1 >= 0 and text[at - backslashes - 1] == "\\":
        backslashes += 1
    return backslashes % 2 == 1


def references(raw: str) -> set[str]:
    return {m[2] or m[5] for m in _REFERENCE.finditer(raw) if not m[1]}


def expand(raw: str, lookup: Callable[[str], str | None], depth: int = 0) -> tuple[str | None, str]:
    """`raw` with `$VAR`/`${VAR}`/`${VAR:-default}` expanded; (None, name) when `name` is unknown."""
    missing = ""

    def replace(match: re.Match[str]) -> str:
        nonlocal missing
        if match[1]:
            return match[0][1:]  # \$ is a literal dollar
        name, operator, word = match[2] or match[5], match[3] or "", match[4] or ""
        value = lookup(name)
        if value is not None and depth < 8 and references(value):
            value, inner = expand(value, lookup, depth + 1)
            missing = missing or inner
        if operator in (":-", "-") and (value is None or (operator == ":-" and value == "")):
            return word
        if operator in (":+", "+"):
            return word if value else ""
        if value is None:
            missing = missing or name
            return ""
        return value

    result = _REFERENCE.sub(replace, raw)
    return (None, missing) if missing else (result, "")


def read_values(texts: list[str], names: Iterable[str]) -> list[dict[str, tuple[str | None, Entry, str]]]:
    """For files loaded together (first wins), each file's `names`: (expanded value or None, entry, missing)."""
    wanted = set(names)
    parsed = [DotenvText(text) for text in texts]
    entries = [one.entries(wanted) for one in parsed]
    known: set[str] = set(wanted)
    for _ in range(MAX_ROUNDS):
        needed = {ref for found in entries for e in found.values() if e.quote != "'" for ref in references(e.raw)}
        needed -= known
        if not needed:
            break
        known |= needed
        for found, one in zip(entries, parsed, strict=True):
            found.update({k: v for k, v in one.entries(needed).items() if k not in found})
    merged: dict[str, Entry] = {}
    for found in entries:
        for key, entry in found.items():
            merged.setdefault(key, entry)

    def lookup(name: str) -> str | None:
        entry = merged.get(name)
        return None if entry is None else entry.raw

    out = []
    for found in entries:
        values = {}
        for name in wanted & set(found):
            entry = found[name]
            value, missing = (entry.raw, "") if entry.quote == "'" else expand(entry.raw, lookup)
            values[name] = (value, entry, missing)
        out.append(values)
    return out


def dotenv_source(path: Path, text: str | None = None, label: str | None = None) -> EnvSource:
    """One .env file on its own (its `$VAR` references expanded from itself)."""
    return dotenv_group([(path, read_input(path, "an env file") if text is None else text)], "", label)[0]


def dotenv_group(files: list[tuple[Path, str]], group: str, label: str | None = None) -> list[EnvSource]:
    """.env files loaded together, highest precedence first: references expand across all of them."""
    sources = []
    for rank, ((path, _), values) in enumerate(zip(files, read_values([t for _, t in files], NAMES), strict=True)):
        source = EnvSource(label or str(path), group=group, rank=rank)
        for name, (value, entry, missing) in sorted(values.items()):
            reason = f"refers to ${missing}, which no file given sets (the build machine's environment may)"
            source.values[name] = EnvValue(value, f"{path}:{entry.line}", "" if value is not None else reason)
        sources.append(source)
    return sources
