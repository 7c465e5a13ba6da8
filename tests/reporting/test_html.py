"""report.html read as the person who signs reads it: verdict first, failures with their fix, no reprs."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from realtime_verify import catalogue as c
from realtime_verify.outcome import CheckResult, Status
from realtime_verify.reporting import humane
from realtime_verify.reporting.html import render_html
from realtime_verify.reporting.summary import history_line, write_reports
from tests.reporting.builders import make_report

SERIES = {"segment": "chat A→B: send → rendered", "n": 30, "p50_ms": 7.0, "p95_ms": 10.9, "max_ms": 12.1}
# What a Python repr looks like on a page: a quoted item in brackets or braces, a bare True/None.
REPR = re.compile(r"\[\s*'|\{\s*'|\bTrue\b|\bFalse\b|\bNone\b|&#x27;\]|\[&#x27;|\{&#x27;")


def result(check: c.Check, status: Status, **values: Any) -> CheckResult:
    return CheckResult.of(check, status, **values)


def visible_text(html: str) -> str:
    """The page without its style sheet and tags: what a reader sees."""
    html = re.sub(r"<style>.*?</style>", "", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


def failing_report() -> str:
    return render_html(
        make_report(
            [
                result(c.RT_004, Status.FAILED, message="page B never rendered rv-x-4", fix="emit the update"),
                result(c.NGX_003, Status.FAILED, message="no Upgrade header", fix="forward Upgrade"),
                result(c.HS_001, Status.PASSED, metrics={"refused": {"no credentials": "{'message': 'no token'}"}}),
                result(c.HS_006, Status.SKIPPED, message="the target is not declared behind Cloudflare"),
            ],
            exit_status=1,
            label="v2.3.1 (abc1234)",
        )
    )


def test_the_verdict_and_the_failed_ids_come_first() -> None:
    text = visible_text(failing_report())
    assert text.index("FAILED") < text.index("not ready to sign") < text.index("2 of 4 checks failed")
    assert "2 of 4 checks failed: NGX-003, RT-004" in " ".join(text.split())
    assert "v2.3.1 (abc1234)" in text


def test_the_first_failure_along_the_path_is_marked_start_here_with_its_fix() -> None:
    html = failing_report()
    start = html.index("START HERE")
    assert html.index("NGX-003", start) < html.index("RT-004", start)
    assert "<b>Fix:</b> forward Upgrade" in html


def test_a_failed_run_has_no_signoff_block_and_says_not_ready() -> None:
    html = failing_report()
    assert "Not ready to sign" in html
    assert "<th>Signature</th>" not in html


def test_a_passed_run_has_the_signoff_block() -> None:
    html = render_html(make_report([result(c.HS_001, Status.PASSED)], label="v1"))
    assert "<th>Signature</th>" in html
    assert "ready to sign" in html
    assert "Not ready to sign" not in html


def test_a_fault_drill_is_flagged_and_never_signed() -> None:
    html = render_html(make_report([result(c.HS_001, Status.PASSED)], faults=["zone-argo-on"], embedded=True))
    assert "Fault drill." in html
    assert "a drill is never signed" in html
    assert "<th>Signature</th>" not in html


def test_a_pass_with_most_checks_skipped_is_flagged() -> None:
    skipped = [result(check, Status.SKIPPED, message="no nginx conf") for check in c.CATALOGUE.family(c.Family.NGX)]
    html = render_html(make_report([result(c.HS_001, Status.PASSED), *skipped]))
    assert "Only 1 of 6 checks judged:" in html
    assert "<a href='#skipped'>see why</a>" in html
    assert "NGX-001, NGX-002, NGX-003, NGX-004, NGX-005" in html


def test_no_python_repr_reaches_the_page() -> None:
    text = visible_text(failing_report())
    assert not REPR.search(text), REPR.search(text)
    assert "heartbeat" in text
    assert "yes" in text
    assert "message: no token" in text


def test_checks_are_grouped_by_family_with_counts_and_durations_that_do_not_wrap() -> None:
    html = render_html(make_report([result(c.HS_001, Status.PASSED, duration_s=0.31), result(c.HS_002, Status.PASSED)]))
    assert c.Family.HS.description in html
    assert "2 passed" in html
    assert "<td class='time'>0.3 s</td>" in html
    assert "<td class='time'>&lt;0.1 s</td>" in html
    assert ".nowrap,.time{white-space:nowrap}" in html


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0.0, "<0.1 s"), (0.31, "0.3 s"), (9.94, "9.9 s"), (12.4, "12 s"), (125, "2 min 5 s"), (180, "3 min")],
)
def test_durations_read_as_people_write_them(seconds: float, shown: str) -> None:
    assert humane.duration(seconds) == shown


def test_values_read_as_people_write_them() -> None:
    assert humane.text(["a", "b"]) == "a, b"
    assert humane.text({"polling": 200, "ok": True}) == "polling: 200; ok: yes"
    assert humane.text("{'message': 'x'}") == "message: x"
    assert humane.text(None) == humane.NONE
    assert humane.key_value("heartbeat: False") == ("heartbeat", "no")


def test_latency_is_drawn_against_its_budget() -> None:
    html = render_html(make_report([result(c.RT_002, Status.PASSED, latency=[{**SERIES, "budget_ms": 12.0}])]))
    assert "<title>budget 12 ms</title>" in html
    assert "91 %" in html  # p95 10.9 of a 12 ms budget


def test_a_p95_over_budget_is_red() -> None:
    html = render_html(make_report([result(c.RT_002, Status.FAILED, latency=[{**SERIES, "budget_ms": 10.0}])]))
    assert "<span class='over'>10.9 ms</span>" in html


def test_reconnect_timelines_draw_one_lane_per_client() -> None:
    timelines = [
        {"client": "page A", "events": [{"t_ms": 0, "what": "disconnected", "detail": "transport close"}]},
        {"client": "watcher", "events": [{"t_ms": 2, "what": "disconnected"}, {"t_ms": 900, "what": "reconnected"}]},
    ]
    html = render_html(make_report([result(c.FT_001, Status.PASSED, timelines=timelines)]))
    svg = html[html.index("<svg class='timeline'") :]
    svg = svg[: svg.index("</svg>")]
    assert svg.count("<circle") == 3
    assert "back after 0.90 s" in svg
    assert "never back" in svg  # page A never reconnected


def test_artifacts_are_linked_relative_to_the_report(tmp_path: Path) -> None:
    folder = tmp_path / "reports"
    shot = folder / "artifacts" / "test_chat" / "0-page-A" / "screenshot.png"
    shot.parent.mkdir(parents=True)
    shot.write_bytes(b"png")
    run = make_report([result(c.RT_002, Status.FAILED, message="lost", artifacts=[str(shot)])], exit_status=1)
    write_reports(run, folder)
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert "<a href='artifacts/test_chat/0-page-A/screenshot.png'>screenshot</a>" in html
    assert run.checks[0].artifacts == ["artifacts/test_chat/0-page-A/screenshot.png"]


def test_the_trend_tells_drills_from_real_runs() -> None:
    past = make_report([result(c.RT_002, Status.PASSED, latency=[SERIES])], run_id="old")
    drill = make_report([result(c.RT_002, Status.FAILED)], run_id="drill", faults=["no-broadcast"], exit_status=1)
    now = make_report([result(c.RT_002, Status.PASSED, latency=[SERIES])], run_id="now")
    html = render_html(now, history=[history_line(past), history_line(drill)])
    assert "Trend over the last 3 runs" in html
    assert "fill='url(#drill)'" in html
    assert "DRILL: no-broadcast" in html
    assert "1 of these 3 runs were drills" in html


def test_the_page_is_self_contained() -> None:
    html = failing_report()
    assert "<script" not in html
    assert "<link" not in html
    assert not re.search(r"""(src|href)=['"]?(https?:)?//""", html)
