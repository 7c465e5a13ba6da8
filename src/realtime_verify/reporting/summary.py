"""Results of a run as data, and the files they become: summary.json, report.html, history.jsonl.

One formatter per medium, one source of truth: `CheckResult` holds what the terminal, JUnit (via
pytest), JSON and HTML show, with secrets already redacted.
"""

from __future__ import annotations

import json
import platform
import time
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest

from realtime_verify.errors import (
    EXIT_FAILED,
    EXIT_PASSED,
    EXIT_UNREACHABLE,
    CheckFailure,
    RealtimeVerifyError,
)
from realtime_verify.reporting.redact import Redactor


@dataclass
class CheckResult:
    check_id: str
    title: str
    nodeid: str
    status: str  # passed | warning | failed | skipped
    duration_s: float
    message: str = ""
    fix: str = ""
    latency: list[dict[str, Any]] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_report(
        cls,
        *,
        check_id: str,
        title: str,
        report: pytest.TestReport,
        excinfo: pytest.ExceptionInfo[BaseException] | None,
        latency: list[dict[str, Any]],
        values: dict[str, Any],
        redactor: Redactor,
        warnings: list[str] | None = None,
    ) -> CheckResult:
        message, fix = "", ""
        if report.skipped:
            status = "skipped"
            longrepr = report.longrepr
            message = str(longrepr[2]) if isinstance(longrepr, tuple) else str(longrepr or "")
            message = message.removeprefix("Skipped: ")
        elif report.failed:
            status = "failed"
            error = excinfo.value if excinfo is not None else None
            if isinstance(error, CheckFailure):
                message, fix = error.message, error.fix
                values = {**values, **error.metrics}
            elif isinstance(error, AssertionError | RealtimeVerifyError):
                message = str(error)
            elif error is not None:
                message = f"{type(error).__name__}: {error}"
            else:
                message = str(report.longrepr or "")
        elif warnings:
            status = "warning"  # passed, with something a person should know
            message = "; ".join(warnings)
        else:
            status = "passed"
        return cls(
            check_id=check_id,
            title=title,
            nodeid=report.nodeid,
            status=status,
            duration_s=round(report.duration, 3),
            message=redactor.text(message.strip()),
            fix=redactor.text(fix),
            latency=latency,
            values=values,
        )


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
    versions: dict[str, str]
    verdict: str
    exit_status: int
    counts: dict[str, int]
    values: dict[str, Any]
    checks: list[CheckResult]
    error: str | None = None  # why the run ended before its checks (unreachable, setup, usage)

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
        browser: str,
        results: list[CheckResult],
        values: dict[str, Any],
        exit_status: int,
        error: str | None = None,
    ) -> RunReport:
        counts = {
            status: sum(1 for r in results if r.status == status)
            for status in ("passed", "warning", "failed", "skipped")
        }
        if exit_status == EXIT_UNREACHABLE and error:
            verdict = "UNREACHABLE"
        elif error:
            verdict = "ERROR"
        elif counts["failed"] > 0 or exit_status not in (EXIT_PASSED, EXIT_FAILED):
            verdict = "FAILED"
        else:
            verdict = "PASSED" if counts["passed"] + counts["warning"] else "NOTHING VERIFIED"
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
            versions=_versions(browser),
            verdict=verdict,
            exit_status=exit_status,
            counts=counts,
            values=values,
            checks=results,
            error=error,
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


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


def write_reports(report: RunReport, output: Path) -> list[Path]:
    """summary.json and report.html (overwritten), history.jsonl (one line appended per run)."""
    from realtime_verify.reporting.html import render_html

    output.mkdir(parents=True, exist_ok=True)
    data = report.to_dict()
    summary = output / "summary.json"
    summary.write_text(json.dumps(data, indent=2) + "\n")
    html = output / "report.html"
    html.write_text(render_html(report))
    history = output / "history.jsonl"
    line = {
        "run_id": report.run_id,
        "finished": report.finished,
        "profile": report.run_profile,
        "target": report.target,
        "verdict": report.verdict,
        "counts": report.counts,
        "latency": {
            s["segment"]: {k: s.get(k) for k in ("n", "p50_ms", "p95_ms", "max_ms")}
            for r in report.checks
            for s in r.latency
        },
        "failed": [r.check_id for r in report.checks if r.status == "failed"],
    }
    with history.open("a") as handle:
        handle.write(json.dumps(line) + "\n")
    return [summary, html, history]
