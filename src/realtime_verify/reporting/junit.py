"""junit.xml from the run's results: one test case per check, named by its ID, in CI's vocabulary.

Failed checks are <failure>, checks that could not run (or broke) are <error>, skipped checks are
<skipped> with the reason, and a warning is a passed case carrying a `warning` property and the
finding in <system-out>, starting "WARNING:" (JUnit has no warning outcome; CI pages show the output).
A run that ended before its checks is one <error> case that says why, so a dashboard never shows an
unusable target as green. The suite's <properties> say what was verified (target, build, profile,
faults, verdict); a failed case lists its artifacts as `[[ATTACHMENT|path]]` lines, which GitLab and
Jenkins turn into links (paths relative to the folder of junit.xml).
"""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree as ET

from realtime_verify.outcome import CheckResult, Status
from realtime_verify.reporting.format import details
from realtime_verify.reporting.summary import RunReport


def junit_xml(report: RunReport) -> str:
    suite = ET.Element("testsuite", name=f"realtime-verify {report.run_profile}", timestamp=report.started)
    about = ET.SubElement(suite, "properties")
    for name, value in (
        ("target", report.target),
        ("build", report.label),
        ("profile", report.run_profile),
        ("faults", ", ".join(report.faults)),
        ("verdict", report.verdict),
        ("run_id", report.run_id),
    ):
        ET.SubElement(about, "property", name=name, value=value)
    failures = errors = skipped = 0
    for result in report.checks:
        case = ET.SubElement(
            suite,
            "testcase",
            classname=f"realtime_verify.{result.family}",
            name=f"{result.check_id} {result.title}",
            time=f"{result.duration_s:.3f}",
        )
        text = "\n".join(details(result, width=2000))
        if result.status is Status.FAILED:
            failures += 1
            ET.SubElement(case, "failure", message=_first(result), type="CheckFailure").text = text
            if result.artifacts:
                ET.SubElement(case, "system-out").text = "\n".join(f"[[ATTACHMENT|{p}]]" for p in result.artifacts)
        elif result.status in (Status.ERROR, Status.NOT_RUN):
            errors += 1
            ET.SubElement(case, "error", message=_first(result), type=result.status.value).text = text
        elif result.status is Status.SKIPPED:
            skipped += 1
            ET.SubElement(case, "skipped", message=result.message)
        elif result.status is Status.WARNING:
            properties = ET.SubElement(case, "properties")
            ET.SubElement(properties, "property", name="warning", value=_first(result))
            ET.SubElement(case, "system-out").text = "WARNING: " + text
    if report.error and not report.checks:
        errors += 1
        case = ET.SubElement(suite, "testcase", classname="realtime_verify.run", name="run", time="0")
        ET.SubElement(case, "error", message=report.error, type=report.verdict)
    suite.set("tests", str(len(suite.findall("testcase"))))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    suite.set("skipped", str(skipped))
    suite.set("time", f"{report.duration_s:.3f}")
    ET.indent(suite)
    return ET.tostring(suite, encoding="unicode", xml_declaration=True) + "\n"


def write_junit(report: RunReport, path: Path) -> Path:
    path.write_text(junit_xml(report), encoding="utf-8")
    return path


def _first(result: CheckResult) -> str:
    lines = details(result, width=500)
    return lines[0] if lines else result.message[:500]
