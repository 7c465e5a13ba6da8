"""summary.schema.json: a valid draft 2020-12 schema, every field described, in step with the code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from realtime_verify import catalogue as c
from realtime_verify.catalogue import Family, RunProfile, Severity
from realtime_verify.errors import EXIT_UNREACHABLE
from realtime_verify.outcome import CheckResult, Finding, Status
from realtime_verify.reporting.summary import SCHEMA_VERSION, RunReport, history_line, write_reports
from tests.reporting.builders import make_report
from tests.reporting.schema_check import history_errors, schema, summary_errors, validate_folder

VERDICTS = {"PASSED", "FAILED", "ERROR", "UNREACHABLE", "INTERRUPTED", "NOTHING VERIFIED"}


def every_result() -> list[CheckResult]:
    series = {"segment": "chat A→B: send → rendered", "n": 3, "p50_ms": 7.0, "p95_ms": 9.0, "max_ms": 9.5}
    timeline = {"client": "page A", "events": [{"t_ms": -3.5, "what": "disconnected", "detail": "transport close"}]}
    return [
        CheckResult.of(c.RT_002, Status.FAILED, message="lost", fix="emit", latency=[{**series, "budget_ms": 250}]),
        CheckResult.of(c.NGX_003, Status.WARNING, findings=[Finding("review", "a.conf:3", "include missing")]),
        CheckResult.of(c.HS_001, Status.PASSED, metrics={"pingInterval_ms": 3000, "nested": {"a": [1, 2]}}),
        CheckResult.of(c.HS_006, Status.SKIPPED, message="not behind Cloudflare"),
        CheckResult.of(
            c.FT_001, Status.PASSED, timelines=[timeline], latency=[{"segment": "x", "n": 0, "budget_ms": None}]
        ),
        CheckResult.of(c.RT_005, Status.NOT_RUN, message="the run ended first"),
        CheckResult.of(c.RT_006, Status.ERROR, message="KeyError"),
    ]


def walk(node: Any, path: str = "#") -> list[tuple[str, dict[str, Any]]]:
    """Every (path, subschema) that declares properties, and the properties themselves."""
    found: list[tuple[str, dict[str, Any]]] = []
    if isinstance(node, dict):
        for name, sub in (node.get("properties") or {}).items():
            found.append((f"{path}/properties/{name}", sub))
        for key, value in node.items():
            if isinstance(value, dict | list):
                found += walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            found += walk(value, f"{path}/{index}")
    return found


def test_the_schema_is_valid_draft_2020_12() -> None:
    jsonschema.Draft202012Validator.check_schema(schema())
    assert schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_every_field_is_described() -> None:
    undescribed = [path for path, sub in walk(schema()) if not sub.get("description")]
    assert undescribed == []
    assert all(d.get("description") for d in schema()["$defs"].values())


def test_the_schema_version_is_the_code_s() -> None:
    assert schema()["properties"]["schema_version"]["const"] == SCHEMA_VERSION == 2


def test_the_schema_names_every_field_of_the_report_and_of_a_result() -> None:
    assert set(schema()["properties"]) == set(RunReport.__dataclass_fields__)
    assert set(schema()["$defs"]["check"]["properties"]) == set(CheckResult.__dataclass_fields__)


def test_enumerations_follow_the_code() -> None:
    check = schema()["$defs"]["check"]["properties"]
    assert set(check["status"]["enum"]) == {s.value for s in Status}
    assert set(check["family"]["enum"]) == {f.value for f in Family}
    assert set(check["severity"]["enum"]) == {s.value for s in Severity}
    assert set(schema()["properties"]["run_profile"]["enum"]) == {p.value for p in RunProfile}
    assert set(schema()["properties"]["verdict"]["enum"]) == VERDICTS
    assert set(schema()["properties"]["counts"]["required"]) == {s.value for s in Status}
    pattern = check["check_id"]["pattern"]
    assert all(jsonschema.Draft202012Validator({"pattern": pattern}).is_valid(i) for i in c.CATALOGUE.ids)


@pytest.mark.parametrize(
    "run",
    [
        make_report(every_result(), exit_status=1, label="v1", faults=["no-broadcast"], embedded=True),
        make_report([], exit_status=EXIT_UNREACHABLE, error="cannot connect"),
    ],
    ids=["every-status", "unreachable"],
)
def test_reports_validate(run: RunReport, tmp_path: Path) -> None:
    write_reports(run, tmp_path)
    validate_folder(tmp_path)


def test_what_the_schema_refuses() -> None:
    good = json.loads(json.dumps(make_report(every_result(), exit_status=1).to_dict()))
    assert summary_errors(good) == []
    assert summary_errors({**good, "schema_version": 1})
    assert summary_errors({**good, "verdict": "GREEN"})
    assert summary_errors({**good, "surprise": 1})
    check = {**good["checks"][0], "check_id": "RT2"}
    assert summary_errors({**good, "checks": [check]})
    assert history_errors({**history_line(make_report([])), "verdict": 3})
