"""Reading the audit's input files: bounded in size, text only, errors as one clear line.

Configuration files are kilobytes. A file of many megabytes is a wrong input (a log, a dump, a
build artefact), so every reader stops at `MAX_INPUT_BYTES` with a message that says so, before
reading it; below the limit every reader is linear in the size of its input. Values echoed into
findings go through `shown()`, so a huge value never floods a report.
"""

from __future__ import annotations

from pathlib import Path

from realtime_verify.errors import UsageError

MAX_INPUT_BYTES = 16 * 1024 * 1024
MAX_SHOWN_CHARS = 120


def read_input(path: Path, what: str = "input") -> str:
    """The text of `path`; UsageError (one line) when it is missing, too large or not text."""
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise UsageError(f"{path} does not exist") from None
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None
    if not path.is_file():
        raise UsageError(f"{path} is not a file")
    if size > MAX_INPUT_BYTES:
        raise UsageError(
            f"{path} is {size / 1e6:.1f} MB: too large for {what} (the audit reads files up to"
            f" {MAX_INPUT_BYTES // (1024 * 1024)} MiB; configuration files are kilobytes). Is it the right file?"
        )
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise UsageError(f"{path} is not a UTF-8 text file, so it cannot be {what}") from None
    except OSError as error:
        raise UsageError(f"cannot read {path}: {error.strerror}") from None


def shown(value: str) -> str:
    """`value` as findings quote it: repr, cut after MAX_SHOWN_CHARS characters."""
    if len(value) <= MAX_SHOWN_CHARS:
        return repr(value)
    return f"{value[:MAX_SHOWN_CHARS]!r}... ({len(value)} characters)"
