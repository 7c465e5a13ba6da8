"""One error hierarchy; every message says what was seen and what to do about it.

    RealtimeVerifyError                 base of everything the harness raises on purpose
    ├── UsageError                      exit 2: bad options, profile, env var or file
    │   └── ConfigError                 the target profile is invalid (names the key and the fix)
    ├── SetupError                      exit 2: this machine lacks something (browser, nginx, npm ci)
    ├── TargetUnreachable               exit 3: the target cannot be verified at all
    │   (kinds: unreachable, tls, challenged, not-socketio, http-error, stack)
    ├── InternalError                   exit 70: a defect of realtime-verify itself (please report it)
    ├── WaitTimeout                     a wait expired: what it waited for, and what it saw instead
    ├── ConnectFailed                   a Socket.IO client could not connect (refused, or never answered)
    └── NotApplicable                   a check has nothing to judge on this target (it is skipped)

    CheckFailure(AssertionError)        a check did not hold: what was seen, the findings, the likely fix

`CheckFailure` derives from AssertionError so that pytest reports it as a test failure, not an error.
It names no check: the check a test verifies is its marker, so helpers shared by checks stay neutral.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from realtime_verify.metrics import LatencySeries
    from realtime_verify.outcome import Finding

EXIT_PASSED = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
EXIT_INTERNAL = 70  # sysexits' EX_SOFTWARE: a defect of realtime-verify, never "a check failed"
EXIT_INTERRUPTED = 130  # Ctrl-C (SIGINT), as shells report it
EXIT_TERMINATED = 143  # SIGTERM, what CI sends on cancel or timeout


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


class InternalError(RealtimeVerifyError):
    """A defect of realtime-verify itself (or of a custom adapter): never "a check failed"."""

    exit_code = EXIT_INTERNAL


class WaitTimeout(RealtimeVerifyError):
    """A wait expired; the message names what never came and what came instead, and `fix` the cure when
    the cause is known (else the check's own fix is given)."""

    def __init__(self, message: str, *, fix: str = "") -> None:
        super().__init__(message)
        self.fix = fix


class ConnectFailed(RealtimeVerifyError):
    """A Socket.IO client could not connect. `refused`: the server answered CONNECT_ERROR, whose data
    is `reason` (the server's own words); else the connection failed before any answer."""

    def __init__(self, message: str, *, refused: bool, reason: str = "") -> None:
        super().__init__(message)
        self.refused = refused
        self.reason = reason


class NotApplicable(RealtimeVerifyError):
    """A check has nothing to judge on this target; the message is the reason it is skipped."""


class CheckFailure(AssertionError):
    """A check did not hold: what was seen, the findings behind it, and the likely fix."""

    def __init__(
        self,
        message: str,
        *,
        fix: str = "",
        findings: Sequence[Finding] = (),
        metrics: dict[str, Any] | None = None,
        series: Sequence[LatencySeries] = (),
        timelines: Sequence[dict[str, Any]] = (),
    ) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix
        self.findings = list(findings)
        self.metrics = dict(metrics or {})
        self.series = list(series)  # latency measured before the check failed, still worth showing
        self.timelines = list(timelines)  # what each client went through, for a failed fault check

    def __str__(self) -> str:
        return f"{self.message}\n  fix: {self.fix}" if self.fix else self.message
