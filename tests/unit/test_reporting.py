"""The one formatter, junit.xml, the verdict and the report files, from results alone (no run)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

import pytest

from realtime_verify import catalogue as c
from realtime_verify.catalogue import Check
from realtime_verify.errors import (
    EXIT_FAILED,
    EXIT_INTERNAL,
    EXIT_INTERRUPTED,
    EXIT_PASSED,
    EXIT_TERMINATED,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
)
from realtime_verify.outcome import CheckResult, Finding, Status
from realtime_verify.reporting import format as fmt
from realtime_verify.reporting.html import render_html
from realtime_verify.reporting.junit import junit_xml
from realtime_verify.reporting.summary import RunReport, history_line, verdict_of, write_reports

SERIES = {"segment": "chat A→B: send → rendered", "n": 30, "p50_ms": 7.0, "p95_ms": 10.9, "max_ms": 12.1}


def result(check: Check, status: Status, **values: Any) -> CheckResult:
    return CheckResult.of(check, status, **values)


def report(results: list[CheckResult], *, exit_status: int = 0, error: str | None = None) -> RunReport:
    return RunReport.build(
        run_id="abc123",
        started=time.time() - 5,
        run_profile="signoff",
        target="https://app.example.com",
        embedded=False,
        faults=[],
        settings=["budgets.chat_p95_ms = 200.0  (--set)"],
        capabilities=["chat: direct"],
        browser="Chromium 1",
        results=results,
        values={"target_ready_s": 1.2},
        exit_status=exit_status,
        error=error,
    )


# The formatter ------------------------------------------------------------------------------------


def test_a_failed_check_reads_as_its_message_and_fix() -> None:
    failed = result(c.RT_002, Status.FAILED, message="rv-x-3 never rendered\nsecond\nthird\nfourth", fix="render it")
    assert fmt.headline(failed) == f"FAILED   RT-002   {c.RT_002.title}"
    assert fmt.details(failed) == ["rv-x-3 never rendered", "second", "third", "fix: render it"]


def test_several_findings_are_listed_each_with_its_fix_and_failures_hide_warnings() -> None:
    findings = [
        Finding("error", "a.conf:3", "no Upgrade", "forward Upgrade"),
        Finding("warning", "a.conf:9", "buffering on", "turn it off"),
        Finding("error", "a.conf:4", "no Connection"),
    ]
    failed = result(c.NGX_003, Status.FAILED, message="joined", findings=findings)
    assert fmt.details(failed) == ["a.conf:3: no Upgrade", "  fix: forward Upgrade", "a.conf:4: no Connection"]
    warned = result(c.NGX_003, Status.WARNING, findings=[findings[1], Finding("review", "", "include missing")])
    assert fmt.details(warned) == ["warning: a.conf:9: buffering on", "  fix: turn it off", "review: include missing"]


def test_only_undecidable_findings_read_as_review() -> None:
    review = result(c.NGX_003, Status.WARNING, findings=[Finding("review", "", "include missing")])
    assert fmt.label(review) == "REVIEW"
    warning = result(c.NGX_003, Status.WARNING, findings=[Finding("warning", "", "x")])
    assert fmt.label(warning) == "WARNING"
    assert fmt.label(result(c.HS_001, Status.NOT_RUN)) == "NOT RUN"


def test_passed_shows_nothing_and_skipped_shows_its_reason_without_a_fix() -> None:
    assert fmt.details(result(c.HS_001, Status.PASSED, message="ignored", fix="ignored")) == []
    skipped = result(c.HS_006, Status.SKIPPED, message="the target is not behind Cloudflare", fix="x")
    assert fmt.details(skipped) == ["the target is not behind Cloudflare"]


def test_long_lines_are_cut_with_an_ellipsis() -> None:
    line = fmt.details(result(c.HS_001, Status.FAILED, message="x" * 50), width=20)[0]
    assert line == "x" * 19 + "…"


def test_skipped_checks_with_one_reason_fold_into_one_line() -> None:
    reason = "no Cloudflare zone"
    results = [
        result(c.CF_001, Status.SKIPPED, message=reason),
        result(c.CF_002, Status.SKIPPED, message=reason),
        result(c.CF_003, Status.SKIPPED, message=reason),
        result(c.HS_006, Status.SKIPPED, message="not behind Cloudflare"),
        result(c.RT_001, Status.FAILED, message="page A: no open WebSocket", fix="forward Upgrade"),
    ]
    assert fmt.results_table(results) == [
        "SKIPPED  CF-001..CF-003 no Cloudflare zone",
        "SKIPPED  HS-006   not behind Cloudflare",
        f"FAILED   RT-001   {c.RT_001.title}",
        "         page A: no open WebSocket",
        "         fix: forward Upgrade",
    ]


def test_counts_and_summary_line() -> None:
    results = [result(c.HS_001, Status.PASSED), result(c.HS_002, Status.PASSED), result(c.HS_003, Status.FAILED)]
    assert fmt.counts(results)["passed"] == 2
    assert fmt.summary_line(results) == "1 failed, 2 passed"
    assert fmt.summary_line([]) == "no checks"


def test_latency_table_aligns_and_leaves_out_empty_series() -> None:
    lines = fmt.latency_table([{**SERIES, "budget_ms": 250}, {"segment": "nothing", "n": 0}])
    assert len(lines) == 2
    assert lines[0].split() == ["segment", "n", "p50", "ms", "p95", "ms", "budget", "max", "ms"]
    assert lines[1].split()[-5:] == ["30", "7.00", "10.90", "250", "12.10"]
    assert len(lines[0]) == len(lines[1])
    assert fmt.latency_table([]) == []


def test_key_figure_is_the_slowest_p95_else_the_first_metric() -> None:
    slow = {**SERIES, "segment": "slow", "p95_ms": 99.0}
    assert fmt.key_figure(result(c.RT_002, Status.PASSED, latency=[SERIES, slow])) == "p95 99.0 ms (slow)"
    assert fmt.key_figure(result(c.HS_001, Status.PASSED, metrics={"pingInterval_ms": 3000})) == "pingInterval_ms 3000"


# junit.xml ----------------------------------------------------------------------------------------


def parse_junit(run: RunReport) -> ET.Element:
    text = junit_xml(run)
    assert text.startswith("<?xml")
    return ET.fromstring(text.split("\n", 1)[1])


def test_junit_has_one_case_per_check_named_by_its_id() -> None:
    run = report(
        [
            result(c.HS_001, Status.PASSED, duration_s=0.5),
            result(c.RT_002, Status.FAILED, message="rv-x-1 never rendered", fix="render it"),
            result(c.RT_005, Status.ERROR, message="KeyError: 'x' — an error of realtime-verify itself"),
            result(c.RT_006, Status.NOT_RUN, message="the run ended first"),
            result(c.HS_006, Status.SKIPPED, message="not behind Cloudflare"),
            result(c.CF_004, Status.WARNING, message="Bot Fight Mode is on", fix="turn it off"),
        ],
        exit_status=1,
    )
    suite = parse_junit(run)
    cases = {case.get("name", "").split()[0]: case for case in suite.iter("testcase")}
    assert set(cases) == {"HS-001", "RT-002", "RT-005", "RT-006", "HS-006", "CF-004"}
    assert cases["HS-001"].get("name") == f"HS-001 {c.HS_001.title}"
    assert cases["HS-001"].get("classname") == "realtime_verify.HS"
    assert cases["HS-001"].get("time") == "0.500"
    assert list(cases["HS-001"]) == []
    failure = cases["RT-002"].find("failure")
    assert failure is not None
    assert failure.get("message") == "rv-x-1 never rendered"
    assert "fix: render it" in (failure.text or "")
    assert [e.get("type") for e in (cases["RT-005"].find("error"), cases["RT-006"].find("error")) if e is not None] == [
        "error",
        "not run",
    ]
    skipped = cases["HS-006"].find("skipped")
    assert skipped is not None
    assert skipped.get("message") == "not behind Cloudflare"
    warning = cases["CF-004"].find("properties/property")
    assert warning is not None
    assert (warning.get("name"), warning.get("value")) == ("warning", "Bot Fight Mode is on")
    assert "Bot Fight Mode is on" in (cases["CF-004"].findtext("system-out") or "")
    counts = {key: suite.get(key) for key in ("tests", "failures", "errors", "skipped")}
    assert counts == {"tests": "6", "failures": "1", "errors": "2", "skipped": "1"}


def test_a_run_that_ended_before_its_checks_is_one_error_case() -> None:
    suite = parse_junit(report([], exit_status=EXIT_UNREACHABLE, error="cannot connect to http://127.0.0.1:9"))
    cases = list(suite.iter("testcase"))
    assert len(cases) == 1
    error = cases[0].find("error")
    assert error is not None
    assert error.get("message") == "cannot connect to http://127.0.0.1:9"
    assert error.get("type") == "UNREACHABLE"
    assert (suite.get("tests"), suite.get("errors")) == ("1", "1")


def test_a_run_with_an_error_and_checks_shows_the_checks_not_an_extra_case() -> None:
    run = report([result(c.HS_001, Status.NOT_RUN, message="the run ended first")], exit_status=2, error="bad")
    assert [case.get("name", "").split()[0] for case in parse_junit(run).iter("testcase")] == ["HS-001"]


def test_junit_text_is_escaped() -> None:
    run = report([result(c.RT_002, Status.FAILED, message='<b> & "quotes" ]]>')])
    failure = parse_junit(run).find("testcase/failure")
    assert failure is not None
    assert failure.get("message") == '<b> & "quotes" ]]>'


# The verdict --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("statuses", "exit_status", "error", "expected"),
    [
        ([Status.PASSED, Status.SKIPPED], EXIT_PASSED, None, ("PASSED", EXIT_PASSED)),
        ([Status.PASSED, Status.WARNING], EXIT_PASSED, None, ("PASSED", EXIT_PASSED)),
        ([Status.PASSED, Status.FAILED], EXIT_FAILED, None, ("FAILED", EXIT_FAILED)),
        ([Status.FAILED, Status.ERROR], EXIT_FAILED, None, ("FAILED", EXIT_FAILED)),
        ([Status.PASSED, Status.ERROR], EXIT_FAILED, None, ("ERROR", EXIT_INTERNAL)),
        ([Status.SKIPPED], EXIT_PASSED, None, ("NOTHING VERIFIED", EXIT_PASSED)),
        ([Status.NOT_RUN], EXIT_PASSED, None, ("NOTHING VERIFIED", EXIT_PASSED)),
        ([], EXIT_UNREACHABLE, "cannot connect", ("UNREACHABLE", EXIT_UNREACHABLE)),
        ([Status.NOT_RUN], EXIT_USAGE, "bad profile", ("ERROR", EXIT_USAGE)),
        ([Status.FAILED], EXIT_INTERRUPTED, None, ("INTERRUPTED", EXIT_INTERRUPTED)),
        ([Status.PASSED], EXIT_TERMINATED, "SIGTERM", ("INTERRUPTED", EXIT_TERMINATED)),
    ],
)
def test_verdict_of(statuses: list[Status], exit_status: int, error: str | None, expected: tuple[str, int]) -> None:
    results = [result(c.HS_001, status) for status in statuses]
    assert verdict_of(results, exit_status, error) == expected


# The report files ---------------------------------------------------------------------------------


def test_the_report_lists_failures_first_and_survives_json() -> None:
    run = report(
        [
            result(c.HS_001, Status.PASSED),
            result(c.HS_006, Status.SKIPPED, message="x"),
            result(c.RT_002, Status.FAILED, message="lost", latency=[SERIES]),
        ],
        exit_status=1,
    )
    assert [r.check_id for r in run.checks] == ["RT-002", "HS-001", "HS-006"]
    assert (run.verdict, run.exit_status) == ("FAILED", EXIT_FAILED)
    assert run.counts["failed"] == 1
    back = RunReport.from_dict(json.loads(json.dumps(run.to_dict())))
    assert back == run
    assert history_line(run)["failed"] == ["RT-002"]
    assert history_line(run)["latency"][SERIES["segment"]]["p95_ms"] == 10.9


def test_write_reports_writes_every_file_and_appends_history(tmp_path: Path) -> None:
    run = report([result(c.HS_001, Status.PASSED), result(c.RT_002, Status.FAILED, message="lost")], exit_status=1)
    output = tmp_path / "reports"
    paths = write_reports(run, output)
    assert [p.name for p in paths] == ["summary.json", "report.html", "junit.xml", "history.jsonl"]
    summary = json.loads((output / "summary.json").read_text())
    assert {check["check_id"]: check["status"] for check in summary["checks"]} == {
        "RT-002": "failed",
        "HS-001": "passed",
    }
    assert summary["verdict"] == "FAILED"
    ET.parse(output / "junit.xml")
    write_reports(run, output)
    lines = (output / "history.jsonl").read_text().splitlines()
    assert len(lines) == 2
    assert json.loads(lines[1])["verdict"] == "FAILED"


def test_html_escapes_what_the_target_said() -> None:
    run = report([result(c.RT_002, Status.FAILED, message="<script>alert(1)</script>")], exit_status=1)
    html = render_html(run)
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<code>RT-002</code>" in html
    ended = render_html(report([], exit_status=EXIT_UNREACHABLE, error="TLS <failed>"))
    assert "The run ended before its checks: TLS &lt;failed&gt;" in ended
