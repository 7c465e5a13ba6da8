"""A run's results as data (`RunReport`), and the files it becomes: summary.json, report.html,
junit.xml and one line of history.jsonl. Every file renders the same `CheckResult`s, already redacted.

summary.json follows `summary.schema.json` (beside this module, shipped in the wheel), version
`SCHEMA_VERSION`: a change that removes or retypes a field raises the version. Artifact paths in it
are relative to the folder summary.json is in, so the folder can move (a CI artifact) with its links.
"""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from realtime_verify.errors import (
    EXIT_FAILED,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_PASSED,
    EXIT_TERMINATED,
    EXIT_UNREACHABLE,
)
from realtime_verify.outcome import CheckResult, Status
from realtime_verify.reporting.format import ORDER, counts

SCHEMA_VERSION = 2


@dataclass
class RunReport:
    run_id: str
    started: str
    finished: str
    duration_s: float
    run_profile: str
    target: str
    embedded: bool
    faults: list[str]
    settings: list[str]
    capabilities: list[str]
    versions: dict[str, str]
    verdict: str
    exit_status: int
    counts: dict[str, int]
    values: dict[str, Any]
    checks: list[CheckResult]
    error: str | None = None  # why the run ended before its checks (unreachable, setup, usage)
    schema_version: int = SCHEMA_VERSION
    artifacts: list[str] = field(default_factory=list)
    label: str = ""  # which build of the app was verified: a version, a commit (--label, a version endpoint)

    @classmethod
    def build(
        cls,
        *,
        run_id: str,
        started: float,
        run_profile: str,
        target: str,
        embedded: bool,
        faults: list[str],
        settings: list[str],
        capabilities: list[str],
        browser: str,
        results: list[CheckResult],
        values: dict[str, Any],
        exit_status: int,
        error: str | None = None,
        label: str = "",
    ) -> RunReport:
        numbers = counts(results)
        verdict, exit_status = verdict_of(results, exit_status, error)
        now = time.time()
        return cls(
            run_id=run_id,
            started=_iso(started),
            finished=_iso(now),
            duration_s=round(now - started, 2),
            run_profile=run_profile,
            target=target,
            embedded=embedded,
            faults=faults,
            settings=settings,
            capabilities=capabilities,
            versions=_versions(browser),
            verdict=verdict,
            exit_status=exit_status,
            counts=numbers,
            values=values,
            checks=sorted(results, key=lambda r: ORDER.index(r.status)),
            error=error,
            label=label,
        )

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["checks"] = [check.to_dict() for check in self.checks]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunReport:
        known = set(cls.__dataclass_fields__)
        values = {k: v for k, v in data.items() if k in known}
        values["checks"] = [CheckResult.from_dict(check) for check in data.get("checks", [])]
        return cls(**values)


def verdict_of(results: list[CheckResult], exit_status: int, error: str | None) -> tuple[str, int]:
    """The run's verdict and exit code: why it ended first, then what its checks found."""
    if exit_status in (EXIT_INTERRUPTED, EXIT_TERMINATED):
        return "INTERRUPTED", exit_status
    if error:
        return ("UNREACHABLE" if exit_status == EXIT_UNREACHABLE else "ERROR"), exit_status
    statuses = {r.status for r in results}
    if Status.FAILED in statuses:
        return "FAILED", EXIT_FAILED
    if Status.ERROR in statuses:
        return "ERROR", EXIT_INTERNAL
    if statuses & {Status.PASSED, Status.WARNING}:
        return "PASSED", EXIT_PASSED if exit_status in (EXIT_PASSED, EXIT_FAILED) else exit_status
    return "NOTHING VERIFIED", exit_status or EXIT_PASSED


def _iso(timestamp: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(timestamp))


def _versions(browser: str) -> dict[str, str]:
    versions = {"python": platform.python_version(), "browser": browser}
    for package in ("realtime-verify", "playwright", "python-socketio", "pytest"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


def history_line(report: RunReport) -> dict[str, Any]:
    return {
        "run_id": report.run_id,
        "finished": report.finished,
        "profile": report.run_profile,
        "target": report.target,
        "embedded": report.embedded,
        "label": report.label,
        "faults": report.faults,
        "verdict": report.verdict,
        "counts": report.counts,
        "latency": {
            s["segment"]: {k: s.get(k) for k in ("n", "p50_ms", "p95_ms", "max_ms")}
            for r in report.checks
            for s in r.latency
            if s.get("n")
        },
        "failed": [r.check_id for r in report.checks if r.status is Status.FAILED],
    }


def relative_artifacts(report: RunReport, output: Path) -> None:
    """Make artifact paths relative to `output` (where summary.json and report.html are)."""

    def relative(path: str) -> str:
        try:
            return Path(os.path.relpath(Path(path).resolve(), output.resolve())).as_posix()
        except ValueError:  # another drive (Windows): an absolute path still finds it
            return path

    report.artifacts = [relative(p) for p in report.artifacts]
    for check in report.checks:
        check.artifacts = [relative(p) for p in check.artifacts]


def write_reports(report: RunReport, output: Path) -> list[Path]:
    """summary.json, report.html and junit.xml (overwritten), history.jsonl (one line appended)."""
    from realtime_verify.reporting.html import write_html
    from realtime_verify.reporting.junit import write_junit

    output.mkdir(parents=True, exist_ok=True)
    relative_artifacts(report, output)
    summary = output / "summary.json"
    summary.write_text(json.dumps(report.to_dict(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    # Rendered before this run's history line is appended: the trend adds it as "this run".
    html = write_html(report, output)
    junit = write_junit(report, output / "junit.xml")
    history = output / "history.jsonl"
    with history.open("a", encoding="utf-8") as handle:
        handle.write(json.dumps(history_line(report), ensure_ascii=False) + "\n")
    return [summary, html, junit, history]
