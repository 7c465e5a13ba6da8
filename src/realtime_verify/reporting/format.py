"""The one formatter: how a check result reads, wherever it is shown (terminal, JUnit, HTML, audit)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from realtime_verify.outcome import CheckResult, Status

LABELS = {
    Status.PASSED: "PASSED",
    Status.FAILED: "FAILED",
    Status.WARNING: "WARNING",
    Status.SKIPPED: "SKIPPED",
    Status.NOT_RUN: "NOT RUN",
    Status.ERROR: "ERROR",
}
# Failures first: what a person at 2 a.m. must read before anything else.
ORDER = [Status.FAILED, Status.ERROR, Status.WARNING, Status.NOT_RUN, Status.PASSED, Status.SKIPPED]


def label(result: CheckResult) -> str:
    """PASSED, FAILED... and REVIEW for a warning that is an undecidable finding only."""
    if result.status is Status.WARNING and result.findings and all(f.severity == "review" for f in result.findings):
        return "REVIEW"
    return LABELS[result.status]


def headline(result: CheckResult) -> str:
    return f"{label(result):<8} {result.check_id:<8} {result.title}"


def details(result: CheckResult, *, width: int = 300) -> list[str]:
    """What was found and how to fix it, for every status but passed (the reason, for skipped)."""
    if result.status is Status.PASSED:
        return []
    lines: list[str] = []
    shown = [f for f in result.findings if result.status is not Status.FAILED or f.severity == "error"]
    if len(shown) > 1:
        for finding in shown:
            prefix = "" if finding.severity == "error" else f"{finding.severity}: "
            lines.append(_cut(prefix + finding.line(), width))
            if finding.fix:
                lines.append(_cut(f"  fix: {finding.fix}", width))
        return lines
    if result.message:
        lines += [_cut(line, width) for line in result.message.splitlines()[:3]]
    if result.fix and result.status in (Status.FAILED, Status.WARNING):
        lines.append(_cut(f"fix: {result.fix}", width))
    return lines


def key_figure(result: CheckResult) -> str:
    """The one number worth a glance: the slowest p95, or the first metric."""
    budgeted = [s for s in result.latency if s.get("n")]
    if budgeted:
        worst = max(budgeted, key=lambda s: s["p95_ms"])
        return f"p95 {worst['p95_ms']:.1f} ms ({worst['segment']})"
    for key, value in result.metrics.items():
        if isinstance(value, int | float | str) and len(str(value)) < 40:
            return f"{key} {value}"
    return ""


def progress_line(result: CheckResult) -> str:
    """One line as a check finishes: status, ID, time, and its key figure or why it did not pass."""
    said = key_figure(result) if result.status is Status.PASSED else (result.message.splitlines() or [""])[0]
    return _cut(f"{label(result):<8} {result.check_id:<8} {result.duration_s:6.1f} s  {said}", 160)


def counts(results: Iterable[CheckResult]) -> dict[str, int]:
    found = list(results)
    return {status.value: sum(1 for r in found if r.status is status) for status in ORDER}


def summary_line(results: Sequence[CheckResult]) -> str:
    numbers = counts(results)
    return ", ".join(f"{n} {status}" for status, n in numbers.items() if n) or "no checks"


def latency_table(series: Sequence[dict[str, Any]]) -> list[str]:
    """Aligned lines: segment, n, p50, p95, budget, max."""
    measured = [s for s in series if s.get("n")]
    if not measured:
        return []
    width = max(len(s["segment"]) for s in measured)
    lines = [f"{'segment':<{width}}  {'n':>4}  {'p50 ms':>8}  {'p95 ms':>8}  {'budget':>8}  {'max ms':>8}"]
    for s in measured:
        budget = f"{s['budget_ms']:g}" if s.get("budget_ms") else "-"
        lines.append(
            f"{s['segment']:<{width}}  {s['n']:>4}  {s['p50_ms']:>8.2f}  {s['p95_ms']:>8.2f}  {budget:>8}"
            f"  {s['max_ms']:>8.2f}"
        )
    return lines


def results_table(results: Sequence[CheckResult]) -> list[str]:
    """Every result with its details, checks skipped for one reason folded into one line."""
    lines: list[str] = []
    index = 0
    while index < len(results):
        result = results[index]
        if result.status is Status.SKIPPED:
            run = 1
            while (
                index + run < len(results)
                and results[index + run].status is Status.SKIPPED
                and (results[index + run].message == result.message)
            ):
                run += 1
            span = result.check_id if run == 1 else f"{result.check_id}..{results[index + run - 1].check_id}"
            lines.append(f"{'SKIPPED':<8} {span:<8} {_cut(result.message, 200)}")
            index += run
            continue
        lines.append(headline(result))
        lines += [f"{'':<8} {line}" for line in details(result)]
        index += 1
    return lines


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
