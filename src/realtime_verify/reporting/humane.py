"""Values as a person reads them: durations, lists, flags and paths, never a Python repr.

Every report that shows a value it did not compose itself (metrics, capabilities, history) goes
through `text()`, so `['a', 'b']`, `True` and `{'k': 1}` never reach a page.
"""

from __future__ import annotations

import ast
import math
import os
from collections.abc import Mapping
from pathlib import Path, PurePath
from typing import Any

SECONDS_PER_MINUTE = 60
NONE = "\u2013"  # an en dash: "no value", narrower than a word


def duration(seconds: float) -> str:
    """`<0.1 s`, `0.3 s`, `12 s`, `2 min 5 s`: precise where it matters, short where it does not."""
    if seconds < 0.05:
        return "<0.1 s"
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 2 * SECONDS_PER_MINUTE:
        return f"{seconds:.0f} s"
    minutes, rest = divmod(round(seconds), SECONDS_PER_MINUTE)
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"


def plural(n: int, word: str) -> str:
    return word if n == 1 else word + "s"


def ms(value: float | None) -> str:
    """Milliseconds with the precision a latency deserves: 0.42, 7.9, 123."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return NONE
    if value < 1:
        return f"{value:.2f}"
    if value < 100:
        return f"{value:.1f}"
    return f"{value:.0f}"


def text(value: Any, *, limit: int = 300) -> str:
    """Any value from a result or a settings list, as a short sentence-like string."""
    rendered = _text(value)
    return rendered if len(rendered) <= limit else rendered[: limit - 1] + "…"


def _text(value: Any) -> str:
    if value is None:
        return NONE
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    if isinstance(value, str):
        return _unrepr(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, Mapping):
        return "; ".join(f"{_text(k)}: {_text(v)}" for k, v in value.items()) or NONE
    if isinstance(value, list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return ", ".join(_text(item) for item in items) or "none"
    return str(value)


def _unrepr(value: str) -> str:
    """A dict or list some code turned into its repr (`"{'message': 'x'}"`), read back for people."""
    if len(value) < 2 or value[0] + value[-1] not in ("{}", "[]", "()"):
        return value
    try:
        parsed = ast.literal_eval(value)
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return value
    return _text(parsed) if isinstance(parsed, dict | list | tuple) else value


def key_value(line: str) -> tuple[str, str]:
    """`"heartbeat: True"` → `("heartbeat", "yes")`: capability lines written by `describe()`."""
    key, sep, value = line.partition(": ")
    if not sep:
        return line, ""
    return key, {"True": "yes", "False": "no", "None": NONE}.get(value, value)


def label_of(key: str) -> str:
    """`target_ready_s` → `target ready (s)`: a metric's name as a column heading."""
    words = key.replace("_", " ").strip()
    for unit in ("ms", "s"):
        if words.endswith(f" {unit}"):
            return f"{words[: -len(unit) - 1]} ({unit})"
    return words


def relative_link(path: str, folder: Path | None) -> str:
    """A path written by the run, as a link relative to the report's folder (POSIX separators)."""
    if folder is None or not os.path.isabs(path):
        return PurePath(path).as_posix()
    try:
        return Path(os.path.relpath(path, folder)).as_posix()
    except ValueError:  # another drive (Windows): keep it absolute
        return Path(path).as_uri()


def short_path(path: str) -> str:
    """The file name and its folder: enough to recognise, short enough for a table cell."""
    parts = PurePath(path).parts
    return "/".join(parts[-2:]) if len(parts) > 1 else path
