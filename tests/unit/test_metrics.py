from __future__ import annotations

import pytest

from realtime_verify.errors import CheckFailure
from realtime_verify.metrics import LatencySeries, Markers, format_table, has_marker, percentile


def test_percentile_interpolates_between_ranks() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == pytest.approx(50.5)
    assert percentile(values, 95) == pytest.approx(95.05)
    assert percentile([3.0], 95) == 3.0
    with pytest.raises(ValueError, match="no samples"):
        percentile([], 50)


def test_p95_over_budget_fails_with_the_numbers() -> None:
    series = LatencySeries("chat A→B", [5.0] * 18 + [400.0, 500.0], budget_ms=100)
    series.check_p95(500, "fix")
    with pytest.raises(CheckFailure) as raised:
        series.check_p95(100, "find the slow hop")
    failure = raised.value
    assert failure.message == "chat A→B: p95 405.0 ms is over the budget of 100 ms (p50 5.0 ms, max 500.0 ms, n=20)"
    assert failure.metrics["n"] == 20
    assert failure.fix == "find the slow hop"
    assert failure.series == [series], "the samples reach the report even though the check failed"
    assert str(failure).endswith("\n  fix: find the slow hop")


def test_no_samples_is_a_failure_not_a_pass() -> None:
    with pytest.raises(CheckFailure, match="chat B→A: no samples were measured"):
        LatencySeries("chat B→A").check_p95(100, "fix")
    assert LatencySeries("chat B→A", budget_ms=100).summary() == {"segment": "chat B→A", "n": 0, "budget_ms": 100}


def test_a_marker_is_matched_exactly() -> None:
    assert has_marker("realtime-verify rv-ab-1", "rv-ab-1")
    assert not has_marker("realtime-verify rv-ab-12", "rv-ab-1")
    assert has_marker({"text": "rv-ab-12 and rv-ab-1"}, "rv-ab-1")


def test_markers_are_unique_and_carry_the_run_id() -> None:
    markers = Markers("abc123")
    assert [markers.next() for _ in range(3)] == ["rv-abc123-1", "rv-abc123-2", "rv-abc123-3"]
    assert Markers().run_id != Markers().run_id


def test_table_lines_align() -> None:
    lines = format_table([LatencySeries("a", [1.0, 2.0]).summary(), LatencySeries("longer name", [3.0]).summary()])
    assert lines[0].startswith("segment    ")
    assert len({len(line) for line in lines}) == 1
