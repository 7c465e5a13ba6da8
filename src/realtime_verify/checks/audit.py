"""Findings of the static audit (ENV-*, NGX-*, CF-*) and their formats: table, JSON, check failure.

A finding is data: which check, how bad, where (file:line or API object), what was found, how to
fix it. Severities: `error` fails the check, `warning` does not, `review` means the audit could not
decide (a rule it cannot evaluate) and a person must look; it is listed, never silently passed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from realtime_verify.errors import CheckFailure

Severity = Literal["error", "warning", "review"]

TITLES = {
    "ENV-001": "NEXT_PUBLIC_ENABLE_WEBSOCKETS is true in every source",
    "ENV-002": "NEXT_PUBLIC_WEBSOCKET_URL is secure, on the site's host, with the right path",
    "ENV-003": "The real-time variables agree across sources; none is missing or empty",
    "NGX-001": "A location covers the socket path and proxies it",
    "NGX-002": "proxy_http_version 1.1 for the socket path",
    "NGX-003": "Upgrade and Connection reach the app (header inheritance included)",
    "NGX-004": "proxy_read_timeout exceeds pingInterval + pingTimeout",
    "NGX-005": "Host keeps the port and X-Forwarded-Proto is set",
    "CF-001": "WebSockets are on for the zone",
    "CF-002": "No rule challenges, blocks or rate-limits the socket path",
    "CF-003": "Browser Integrity Check is off for the socket path",
    "CF-004": "Bot Fight Mode state (it cannot be skipped per path)",
    "CF-005": "No cache rule covers the socket path",
    "CF-006": "Argo Smart Routing state (it does not apply to WebSockets)",
}

BUILD_TIME_NOTE = "NEXT_PUBLIC_* values are inlined at build time: rebuild and redeploy the web app after changing them"


@dataclass(frozen=True)
class Finding:
    check_id: str
    severity: Severity
    where: str
    found: str
    fix: str = ""


@dataclass
class AuditResult:
    """One check of the audit: its findings, or why it was skipped."""

    check_id: str
    findings: list[Finding] = field(default_factory=list)
    skipped: str | None = None
    checked: list[str] = field(default_factory=list)  # what was looked at, for the report

    @property
    def title(self) -> str:
        return TITLES[self.check_id]

    @property
    def status(self) -> str:
        if self.skipped is not None:
            return "skipped"
        severities = {f.severity for f in self.findings}
        for severity, status in (("error", "failed"), ("review", "review"), ("warning", "warning")):
            if severity in severities:
                return status
        return "passed"

    def add(self, severity: Severity, where: str, found: str, fix: str = "") -> None:
        self.findings.append(Finding(self.check_id, severity, where, found, fix))

    def to_dict(self) -> dict[str, Any]:
        return {
            "check_id": self.check_id,
            "title": self.title,
            "status": self.status,
            "skipped": self.skipped,
            "checked": self.checked,
            "findings": [asdict(f) for f in self.findings],
        }

    def raise_for_failure(self) -> None:
        """In the suite: a failed audit check is a CheckFailure listing its errors."""
        errors = [f for f in self.findings if f.severity == "error"]
        if errors:
            raise CheckFailure(
                self.check_id,
                "; ".join(f"{f.where}: {f.found}" for f in errors),
                fix="; ".join(dict.fromkeys(f.fix for f in errors if f.fix)),
            )


def exit_code(results: Iterable[AuditResult]) -> int:
    return 1 if any(r.status == "failed" for r in results) else 0


def format_table(results: list[AuditResult]) -> str:
    """The findings table for a terminal: one block per check, one line per finding."""
    lines = []
    index = 0
    while index < len(results):
        result = results[index]
        if result.skipped:
            # Checks skipped for one reason (a family with no input) fit on one line.
            same = [r for r in results[index:] if r.skipped == result.skipped]
            run = len(same) if all(r is results[index + i] for i, r in enumerate(same)) else 1
            span = result.check_id if run == 1 else f"{result.check_id}..{results[index + run - 1].check_id}"
            lines.append(f"{'SKIPPED':<8} {span:<8} {result.skipped}")
            index += run
            continue
        index += 1
        lines.append(f"{result.status.upper():<8} {result.check_id:<8} {result.title}")
        for finding in result.findings:
            lines.append(f"{'':<8} {finding.severity:<8} {finding.where}")
            lines.append(f"{'':<17}{finding.found}")
            if finding.fix:
                lines.append(f"{'':<17}fix: {finding.fix}")
    counts = {
        status: sum(1 for r in results if r.status == status)
        for status in ("passed", "failed", "warning", "review", "skipped")
    }
    lines.append("")
    lines.append(", ".join(f"{n} {status}" for status, n in counts.items() if n))
    return "\n".join(lines)
