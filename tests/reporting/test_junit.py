"""junit.xml: what CI shows of a run (the case per check is tested in tests/unit/test_reporting.py)."""

from __future__ import annotations

from xml.etree import ElementTree as ET

from realtime_verify import catalogue as c
from realtime_verify.outcome import CheckResult, Status
from realtime_verify.reporting.junit import junit_xml
from tests.reporting.builders import make_report


def parse(text: str) -> ET.Element:
    return ET.fromstring(text.split("\n", 1)[1])


def test_the_suite_says_what_was_verified() -> None:
    run = make_report([CheckResult.of(c.HS_001, Status.PASSED)], label="v9", faults=["no-pong"], embedded=True)
    properties = {p.get("name"): p.get("value") for p in parse(junit_xml(run)).iter("property")}
    assert properties["build"] == "v9"
    assert properties["faults"] == "no-pong"
    assert properties["verdict"] == "PASSED"
    assert properties["target"] == "https://app.example.com"


def test_a_warning_is_visible_in_the_output_ci_shows() -> None:
    warned = CheckResult.of(c.CF_004, Status.WARNING, message="Bot Fight Mode is on", fix="turn it off")
    case = parse(junit_xml(make_report([warned]))).find("testcase")
    assert case is not None
    assert (case.findtext("system-out") or "").startswith("WARNING: Bot Fight Mode is on")
    assert case.find("failure") is None


def test_a_failed_case_attaches_its_artifacts() -> None:
    failed = CheckResult.of(c.RT_002, Status.FAILED, message="lost", artifacts=["artifacts/t/0-page-A/screenshot.png"])
    case = parse(junit_xml(make_report([failed], exit_status=1))).find("testcase")
    assert case is not None
    assert case.findtext("system-out") == "[[ATTACHMENT|artifacts/t/0-page-A/screenshot.png]]"


def test_counts_ignore_the_properties_element() -> None:
    suite = parse(junit_xml(make_report([CheckResult.of(c.HS_001, Status.PASSED)])))
    assert suite.get("tests") == "1"
