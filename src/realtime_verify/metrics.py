"""Latency samples, percentiles and budgets; unique markers for the messages the suite sends."""

from __future__ import annotations

import itertools
import math
import re
import secrets
from dataclasses import dataclass, field
from typing import Any

from realtime_verify.errors import CheckFailure


class Markers:
    """`rv-<run id>-<n>`: unique per run, easy to find in a page, a frame or a database."""

    def __init__(self, run_id: str | None = None) -> None:
        self.run_id = run_id or secrets.token_hex(4)
        self._counter = itertools.count(1)

    @property
    def prefix(self) -> str:
        return f"rv-{self.run_id}-"

    def next(self) -> str:
        return f"{self.prefix}{next(self._counter)}"


def has_marker(value: object, marker: str) -> bool:
    """Whether `value` (text, or any data as its repr) carries exactly `marker`: rv-x-1 is not in rv-x-12."""
    return re.search(re.escape(marker) + r"(?!\d)", str(value)) is not None


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation between closest ranks."""
    if not values:
        raise ValueError("no samples")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass
class LatencySeries:
    """Samples of one segment, e.g. "chat A→B frame" (milliseconds)."""

    name: str
    samples_ms: list[float] = field(default_factory=list)
    budget_ms: float | None = None  # the p95 budget it is judged against, shown beside it

    def add(self, value_ms: float) -> None:
        self.samples_ms.append(value_ms)

    def summary(self) -> dict[str, Any]:
        if not self.samples_ms:
            return {"segment": self.name, "n": 0, "budget_ms": self.budget_ms}
        return {
            "segment": self.name,
            "budget_ms": self.budget_ms,
            "n": len(self.samples_ms),
            "p50_ms": round(percentile(self.samples_ms, 50), 2),
            "p95_ms": round(percentile(self.samples_ms, 95), 2),
            "max_ms": round(max(self.samples_ms), 2),
        }

    def check_p95(self, budget_ms: float, fix: str) -> None:
        """Raise CheckFailure when the p95 is over budget (or nothing was measured)."""
        if not self.samples_ms:
            raise CheckFailure(f"{self.name}: no samples were measured")
        p95 = percentile(self.samples_ms, 95)
        if p95 > budget_ms:
            s = self.summary()
            raise CheckFailure(
                f"{self.name}: p95 {p95:.1f} ms is over the budget of {budget_ms:g} ms"
                f" (p50 {s['p50_ms']} ms, max {s['max_ms']} ms, n={s['n']})",
                fix=fix,
                metrics=s,
                series=[self],
            )


def format_table(series: list[dict[str, Any]]) -> list[str]:
    """Aligned lines for the terminal: segment, n, p50, p95, max."""
    if not series:
        return []
    width = max(len(s["segment"]) for s in series)
    lines = [f"{'segment':<{width}}  {'n':>4}  {'p50 ms':>8}  {'p95 ms':>8}  {'max ms':>8}"]
    for s in series:
        if not s.get("n"):
            lines.append(f"{s['segment']:<{width}}  {0:>4}")
            continue
        lines.append(
            f"{s['segment']:<{width}}  {s['n']:>4}  {s['p50_ms']:>8.2f}  {s['p95_ms']:>8.2f}  {s['max_ms']:>8.2f}"
        )
    return lines
