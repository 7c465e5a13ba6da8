"""One outcome model for every check, whoever runs it (the pytest suite or `realtime-verify audit`).

    Status       passed | failed | warning | skipped  (and, for a run cut short: not run, error)
    Finding      one thing a check found: severity (error, warning, review), where, what, fix
    Judgement    what a check concluded when it did not fail: metrics, findings worth a look
    CheckResult  the check, its status, message, fix, findings, metrics: what every report shows

A check's judgement raises `CheckFailure` (errors.py) when it does not hold, raises `NotApplicable`
when it has nothing to judge, and otherwise returns a `Judgement`. A warning or a `review` finding
(cannot be decided from what was given) makes the status "warning": never "passed".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Literal

from realtime_verify.catalogue import Check, Severity
from realtime_verify.metrics import LatencySeries

FindingSeverity = Literal["error", "warning", "review"]


class Status(StrEnum):
    PASSED = "passed"
    FAILED = "failed"
    WARNING = "warning"  # passed with something a person should look at, or could not be decided
    SKIPPED = "skipped"  # not applicable to this target, with the reason
    NOT_RUN = "not run"  # the run ended (interrupted, target unusable) before this check
    ERROR = "error"  # the check itself broke: a defect of realtime-verify, not of the target


@dataclass(frozen=True)
class Finding:
    """One thing a check found, with where it is and how to fix it."""

    severity: FindingSeverity
    where: str
    found: str
    fix: str = ""

    def line(self) -> str:
        return f"{self.where}: {self.found}" if self.where else self.found


@dataclass
class Judgement:
    """A check that held: what it measured, and findings that do not fail it (warnings, reviews)."""

    metrics: dict[str, Any] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)  # what was looked at, for the report
    series: list[LatencySeries] = field(default_factory=list)  # latency per segment
    timelines: list[dict[str, Any]] = field(default_factory=list)  # per client, for fault checks

    def warn(self, where: str, found: str, fix: str = "") -> None:
        self.findings.append(Finding("warning", where, found, fix))

    def review(self, where: str, found: str, fix: str = "") -> None:
        self.findings.append(Finding("review", where, found, fix))


@dataclass
class CheckResult:
    """The outcome of one check as every report shows it, secrets already redacted."""

    check_id: str
    title: str
    family: str
    severity: str
    status: Status
    message: str = ""
    fix: str = ""
    findings: list[Finding] = field(default_factory=list)
    checked: list[str] = field(default_factory=list)
    metrics: dict[str, Any] = field(default_factory=dict)
    latency: list[dict[str, Any]] = field(default_factory=list)
    timelines: list[dict[str, Any]] = field(default_factory=list)
    duration_s: float = 0.0
    nodeid: str = ""
    artifacts: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, check: Check, status: Status, **values: Any) -> CheckResult:
        return cls(
            check_id=check.id,
            title=check.title,
            family=check.family.value,
            severity=check.severity.value,
            status=status,
            **values,
        )

    @classmethod
    def from_findings(
        cls,
        check: Check,
        findings: Iterable[Finding],
        *,
        checked: Iterable[str] = (),
        skipped: str | None = None,
        metrics: dict[str, Any] | None = None,
    ) -> CheckResult:
        """A result judged by its findings: errors fail it (an advisory check only warns)."""
        found = list(findings)
        if skipped is not None and not found:
            return cls.of(check, Status.SKIPPED, message=skipped, checked=list(checked))
        status = status_of(check, found)
        errors = [f for f in found if f.severity == "error"] or found
        message = "; ".join(f.line() for f in errors) if status is not Status.PASSED else ""
        fix = "; ".join(dict.fromkeys(f.fix for f in errors if f.fix)) if status is not Status.PASSED else ""
        return cls.of(
            check,
            status,
            message=message,
            fix=fix or (check.fix if status is Status.FAILED else ""),
            findings=found,
            checked=list(checked),
            metrics=dict(metrics or {}),
        )

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CheckResult:
        values = dict(data)
        values["status"] = Status(values["status"])
        values["findings"] = [Finding(**f) for f in values.get("findings", [])]
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in values.items() if k in known})

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["status"] = self.status.value
        return data


def status_of(check: Check, findings: Iterable[Finding]) -> Status:
    """Errors fail a check (an advisory check only warns); warnings and reviews make it a warning."""
    severities = {f.severity for f in findings}
    if "error" in severities:
        return Status.WARNING if check.severity is Severity.ADVISORY else Status.FAILED
    if severities & {"warning", "review"}:
        return Status.WARNING
    return Status.PASSED
