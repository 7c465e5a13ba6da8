"""Reports of a real failing run of the suite (embedded stack, a fault): schema, junit.xml, report.html."""

from __future__ import annotations

import re
from xml.etree import ElementTree as ET

import pytest

from realtime_verify import catalogue as c
from realtime_verify.errors import EXIT_FAILED
from tests.reporting.runs import Ran, realtime_verify
from tests.reporting.schema_check import validate_folder


@pytest.fixture(scope="module")
def failed_run(tmp_path_factory: pytest.TempPathFactory) -> Ran:
    output = tmp_path_factory.mktemp("reports")
    return realtime_verify(output, "--check", "HS", "--check", c.RT_002.id, "--fault", "no-broadcast")


def test_the_run_fails_on_the_check_the_fault_breaks(failed_run: Ran) -> None:
    assert failed_run.code == EXIT_FAILED, failed_run.stdout[-3000:] + failed_run.stderr[-2000:]


def test_summary_and_history_follow_the_schema(failed_run: Ran) -> None:
    validate_folder(failed_run.output)


def test_junit_has_a_case_per_check_and_the_failure(failed_run: Ran) -> None:
    suite = ET.parse(failed_run.output / "junit.xml").getroot()
    cases = {case.get("name", "").split()[0]: case for case in suite.iter("testcase")}
    assert set(cases) == {check.id for check in c.CATALOGUE.family(c.Family.HS)} | {c.RT_002.id}
    assert cases[c.RT_002.id].find("failure") is not None
    assert suite.get("failures") == "1"


def test_report_html_puts_the_failure_first_and_refuses_the_signoff(failed_run: Ran) -> None:
    html = (failed_run.output / "report.html").read_text(encoding="utf-8")
    assert "FAILED <span class='sub'>— not ready to sign</span>" in html
    assert html.index("START HERE") < html.index(f"<code>{c.RT_002.id}</code>", html.index("START HERE"))
    assert "Fault drill." in html
    assert "<th>Signature</th>" not in html


def test_every_linked_artifact_exists(failed_run: Ran) -> None:
    html = (failed_run.output / "report.html").read_text(encoding="utf-8")
    links = re.findall(r"href='(artifacts/[^']+)'", html)
    assert all((failed_run.output / link).is_file() for link in links), links


def test_the_failed_browser_check_links_its_screenshot(failed_run: Ran) -> None:
    html = (failed_run.output / "report.html").read_text(encoding="utf-8")
    assert re.search(r"href='artifacts/[^']+/screenshot\.png'>screenshot</a>", html)
