"""The runs before this one, from history.jsonl: what the trend in report.html is drawn from.

A history line is written by `summary.history_line()`: run_id, finished, profile, target, embedded,
label, faults, verdict, counts, latency {segment: {n, p50_ms, p95_ms, max_ms}}, failed. Lines of
older versions lack some keys; a line that is not JSON (a run killed mid-write) is passed over.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

TREND_RUNS = 20


@dataclass(frozen=True)
class PastRun:
    """One history line, read defensively."""

    run_id: str
    finished: str
    profile: str
    target: str
    embedded: bool
    label: str
    faults: list[str]
    verdict: str
    failed: list[str]
    p95_ms: dict[str, float] = field(default_factory=dict)

    @property
    def drill(self) -> bool:
        """Faults were switched on: the run proves the suite catches them; it says nothing of a release."""
        return bool(self.faults)

    @classmethod
    def of(cls, line: dict[str, Any]) -> PastRun:
        latency = line.get("latency") or {}
        target = str(line.get("target", ""))
        return cls(
            run_id=str(line.get("run_id", "")),
            finished=str(line.get("finished", "")),
            profile=str(line.get("profile", "")),
            target=target,
            embedded=bool(line.get("embedded", False)),
            label=str(line.get("label") or ""),
            faults=[str(f) for f in line.get("faults") or []],
            verdict=str(line.get("verdict", "")),
            failed=[str(f) for f in line.get("failed") or []],
            p95_ms={
                str(segment): float(values["p95_ms"])
                for segment, values in latency.items()
                if isinstance(values, dict) and isinstance(values.get("p95_ms"), int | float)
            },
        )


def read_history(path: Path) -> list[dict[str, Any]]:
    """Every readable line of a history.jsonl, oldest first ([] when there is none)."""
    try:
        raw = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return []
    lines: list[dict[str, Any]] = []
    for text in raw.splitlines():
        try:
            line = json.loads(text)
        except ValueError:
            continue
        if isinstance(line, dict):
            lines.append(line)
    return lines


def comparable(lines: list[dict[str, Any]], current: dict[str, Any], limit: int = TREND_RUNS) -> list[PastRun]:
    """The last `limit` runs against the same target as `current` (which ends the list).

    The embedded stack listens on a new port every run, so embedded runs compare with embedded runs.
    """
    runs = [PastRun.of(line) for line in lines]
    now = PastRun.of(current)
    same = [
        run
        for run in runs
        if run.run_id != now.run_id and ((run.embedded and now.embedded) or run.target == now.target)
    ]
    return [*same[-(limit - 1) :], now] if limit > 1 else [now]
