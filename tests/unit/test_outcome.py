"""One outcome model for every check: statuses from findings, and results that survive a round trip."""

from __future__ import annotations

import json

import pytest

from realtime_verify import catalogue as c
from realtime_verify.outcome import CheckResult, Finding, Judgement, Status, status_of

ERROR = Finding("error", "app.conf:16", "the socket location does not forward Upgrade", "forward Upgrade")
WARNING = Finding("warning", "app.conf:20", "proxy_buffering is on", "turn proxy_buffering off")
REVIEW = Finding("review", "", "the map block lives in a file that was not given")


@pytest.mark.parametrize(
    ("findings", "status"),
    [
        ([], Status.PASSED),
        ([ERROR], Status.FAILED),
        ([WARNING], Status.WARNING),
        ([REVIEW], Status.WARNING),
        ([WARNING, REVIEW], Status.WARNING),
        ([WARNING, ERROR], Status.FAILED),
    ],
)
def test_status_of_a_critical_check(findings: list[Finding], status: Status) -> None:
    assert status_of(c.NGX_003, findings) is status


@pytest.mark.parametrize(
    ("findings", "status"),
    [([], Status.PASSED), ([ERROR], Status.WARNING), ([WARNING], Status.WARNING)],
)
def test_an_advisory_check_can_only_warn(findings: list[Finding], status: Status) -> None:
    assert status_of(c.CF_004, findings) is status


def test_a_failed_result_names_its_errors_and_their_fixes() -> None:
    other = Finding("error", "app.conf:31", "Connection is not forwarded", "forward Upgrade")
    result = CheckResult.from_findings(c.NGX_003, [WARNING, ERROR, other], checked=["app.conf"])
    assert result.status is Status.FAILED
    assert result.message == (
        "app.conf:16: the socket location does not forward Upgrade; app.conf:31: Connection is not forwarded"
    )
    assert result.fix == "forward Upgrade", "the same fix is said once"
    assert result.findings == [WARNING, ERROR, other], "every finding is kept for the report"
    assert (result.check_id, result.title, result.family, result.severity) == (
        "NGX-003",
        c.NGX_003.title,
        "NGX",
        "critical",
    )
    assert result.checked == ["app.conf"]


def test_a_failure_without_a_fix_of_its_own_gets_the_checks_fix() -> None:
    result = CheckResult.from_findings(c.NGX_002, [Finding("error", "a.conf:3", "HTTP/1.0")])
    assert result.fix == c.NGX_002.fix


def test_a_warning_shows_the_finding_but_not_the_checks_generic_fix() -> None:
    result = CheckResult.from_findings(c.NGX_004, [WARNING])
    assert result.status is Status.WARNING
    assert result.message == "app.conf:20: proxy_buffering is on"
    assert result.fix == "turn proxy_buffering off"
    assert CheckResult.from_findings(c.NGX_004, [REVIEW]).fix == ""


def test_an_advisory_error_is_a_warning_with_its_message() -> None:
    bot = Finding("error", "zone example.com", "Bot Fight Mode is on", "")
    result = CheckResult.from_findings(c.CF_004, [bot])
    assert result.status is Status.WARNING
    assert result.message == "zone example.com: Bot Fight Mode is on"
    assert result.fix == "", "an advisory check never prescribes its fix as if something were broken"


def test_a_passed_result_carries_no_message() -> None:
    result = CheckResult.from_findings(c.ENV_001, [], checked=[".env"], metrics={"sources": 2})
    assert result.status is Status.PASSED
    assert (result.message, result.fix) == ("", "")
    assert result.metrics == {"sources": 2}


def test_skipped_only_when_nothing_was_found() -> None:
    skipped = CheckResult.from_findings(c.ENV_001, [], skipped="no env files given (config_files.env)")
    assert skipped.status is Status.SKIPPED
    assert skipped.message == "no env files given (config_files.env)"
    judged = CheckResult.from_findings(c.ENV_001, [ERROR], skipped="no env files given")
    assert judged.status is Status.FAILED


def test_a_result_survives_json_and_back() -> None:
    result = CheckResult.of(
        c.RT_002,
        Status.FAILED,
        message="rv-x-3 sent by page A: page B never received a frame carrying it",
        fix=c.RT_002.fix,
        findings=[ERROR, REVIEW],
        checked=["page A", "page B"],
        metrics={"n": 30, "nested": {"p95_ms": 12.5}},
        latency=[{"segment": "chat A→B", "n": 2, "p50_ms": 1.0, "p95_ms": 2.0, "max_ms": 2.0}],
        timelines=[{"client": "page A", "events": [{"t": 1.0, "what": "connect"}]}],
        duration_s=1.25,
        nodeid="tests/e2e/test_realtime.py::test_chat_syncs_both_ways",
        artifacts=["artifacts/x/screenshot.png"],
    )
    data = json.loads(json.dumps(result.to_dict()))
    assert data["status"] == "failed"
    assert data["findings"][0] == {"severity": "error", "where": "app.conf:16", "found": ERROR.found, "fix": ERROR.fix}
    back = CheckResult.from_dict(data)
    assert back == result
    assert back.status is Status.FAILED


def test_from_dict_ignores_fields_it_does_not_know() -> None:
    data = CheckResult.of(c.HS_001, Status.NOT_RUN).to_dict()
    back = CheckResult.from_dict({**data, "added_in_a_later_version": 1})
    assert back.status is Status.NOT_RUN
    assert Status("not run") is Status.NOT_RUN


def test_findings_read_as_lines() -> None:
    assert ERROR.line() == "app.conf:16: the socket location does not forward Upgrade"
    assert REVIEW.line() == "the map block lives in a file that was not given"


def test_a_judgement_collects_warnings_and_reviews() -> None:
    judgement = Judgement(metrics={"n": 1})
    judgement.warn("zone", "Argo is on", "nothing to change")
    judgement.review("app.conf", "include not found")
    assert [f.severity for f in judgement.findings] == ["warning", "review"]
    assert status_of(c.CF_006, judgement.findings) is Status.WARNING
