"""One error hierarchy; every message says what was seen and what to do about it.

    RealtimeVerifyError                 base of everything the harness raises on purpose
    ├── UsageError                      exit 2: bad options, profile, env var or file
    │   └── ConfigError                 the target profile is invalid (names the key and the fix)
    ├── SetupError                      exit 2: this machine lacks something (browser, nginx, npm ci)
    ├── TargetUnreachable               exit 3: the target cannot be verified at all
    │   (kinds: unreachable, tls, challenged, not-socketio, http-error, stack)
    └── WaitTimeout                     a wait expired: what it waited for, and what it saw instead

    CheckFailure(AssertionError)        a check did not hold: check id, what was seen, likely fix

`CheckFailure` derives from AssertionError so that pytest reports it as a test failure, not an error.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

EXIT_PASSED = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3


class RealtimeVerifyError(Exception):
    """Base of the errors the harness raises on purpose."""

    exit_code = EXIT_FAILED


class UsageError(RealtimeVerifyError):
    """An option, file or environment variable given by the user cannot be used."""

    exit_code = EXIT_USAGE


class ConfigError(UsageError):
    """The target profile is invalid."""


class SetupError(RealtimeVerifyError):
    """This machine lacks something the run needs; the message says how to install it."""

    exit_code = EXIT_USAGE


class TargetUnreachable(RealtimeVerifyError):
    """The target cannot be verified at all (down, TLS, challenged, not socket.io...)."""

    exit_code = EXIT_UNREACHABLE

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


class WaitTimeout(RealtimeVerifyError):
    """A wait expired; the message names what never came and what came instead."""


@dataclass
class CheckFailure(AssertionError):
    """A check did not hold."""

    check_id: str
    message: str
    fix: str = ""
    metrics: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.check_id}: {self.message}"
        if self.fix:
            text += f"\n  fix: {self.fix}"
        return text
