"""What one run is: its settings, what its checks share, and what each check records.

Plain data, no pytest: the plugin keeps them for a run, the suite's scenarios get them from fixtures
(`rv_settings`, `rv_check`) and use their types.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from realtime_verify.adapter import AppAdapter
from realtime_verify.artifacts import ArtifactSettings
from realtime_verify.catalogue import Check, RunProfile
from realtime_verify.config import Profile
from realtime_verify.errors import RealtimeVerifyError
from realtime_verify.metrics import Markers
from realtime_verify.outcome import CheckResult, Judgement
from realtime_verify.reporting.redact import Redactor
from realtime_verify.session import RunMemory
from realtime_verify.target import Target


@dataclass
class RunSettings:
    """The options of one run, resolved once."""

    profile: Profile
    run_profile: RunProfile
    browser_path: str | None
    headed: bool
    artifacts: ArtifactSettings
    output: Path
    faults: tuple[str, ...]
    selected: set[Check] | None  # --check; None: every check of the run profile
    label: str = ""  # --label: the build being verified
    production_timers: bool = False
    started: float = field(default_factory=time.time)


@dataclass
class RunState:
    """What checks share within a run."""

    markers: Markers
    redactor: Redactor
    results: list[CheckResult] = field(default_factory=list)
    memory: RunMemory = field(default_factory=RunMemory)
    cleanups: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    target: Target | None = None
    adapter: AppAdapter | None = None
    browser_version: str = ""
    checks: list[Check] = field(default_factory=list)  # the checks this run was asked to run
    abort: RealtimeVerifyError | None = None
    interrupted_by: str = ""  # SIGINT or SIGTERM, when the run was cut short by one
    collection_errors: list[str] = field(default_factory=list)
    session_values: dict[str, Any] = field(default_factory=dict)
    reports: list[Path] = field(default_factory=list)


@dataclass
class CheckRecord:
    """What one check recorded while it ran; the plugin turns it into the check's result."""

    judgement: Judgement = field(default_factory=Judgement)
    artifacts: list[str] = field(default_factory=list)
    cleanups: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    progress: Callable[[str], None] | None = None  # where `say` goes (the plugin: the terminal)

    @property
    def metrics(self) -> dict[str, Any]:
        return self.judgement.metrics

    def record(self, judgement: Judgement) -> None:
        """Add what a judgement concluded (metrics, findings, latency, timelines) to this check."""
        mine = self.judgement
        mine.metrics.update(judgement.metrics)
        mine.findings += judgement.findings
        mine.checked += judgement.checked
        mine.series += judgement.series
        mine.timelines += judgement.timelines

    def say(self, text: str) -> None:
        """A progress line for a long check (a storm, an idle window): the person watching knows it is
        not hung. The plugin prints it; elsewhere it goes nowhere."""
        if self.progress is not None:
            self.progress(text)

    def on_cleanup(self, cleanup: Callable[[], Awaitable[None]]) -> None:
        """Run `cleanup` when the check ends, passed or failed (synthetic data it created)."""
        self.cleanups.append(cleanup)
