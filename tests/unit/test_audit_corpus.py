"""The audit corpus (tests/fixtures/audit-corpus): every case judged as its expert did, through the
same path `realtime-verify audit` takes (`audit.run.run_audit` with AuditInputs and a profile).

A case's expected status is one of passed, failed, warning, review, skipped; "review" and "warning"
are both shown as WARNING, told apart by their findings (a review finding: cannot be decided from
what was given). Cases with `exit = 2` must stop with a UsageError that says `error`.
"""

from __future__ import annotations

import json
import tomllib
from pathlib import Path
from typing import Any

import pytest

from realtime_verify.audit.run import AuditInputs, run_audit
from realtime_verify.config import load_profile
from realtime_verify.errors import UsageError
from realtime_verify.outcome import CheckResult, Status

CORPUS = Path(__file__).resolve().parents[1] / "fixtures" / "audit-corpus"
CASES = sorted(path for path in CORPUS.iterdir() if (path / "case.toml").is_file())


def read_case(folder: Path) -> dict[str, Any]:
    return tomllib.loads((folder / "case.toml").read_text())


def run_case(folder: Path) -> list[CheckResult]:
    case = read_case(folder)
    overrides = {"target.socket_path": case.get("socket_path", "/socket.io/")}
    if "allowed_hosts" in case:
        overrides["config_files.allowed_hosts"] = json.dumps(case["allowed_hosts"])
    profile = load_profile(None, env={}, overrides=overrides)
    inputs = AuditInputs(
        env_files=[folder / name for name in case.get("env", [])],
        k8s=[folder / name for name in case.get("k8s", [])],
        nginx=folder / case["nginx"] if "nginx" in case else None,
        nginx_root=folder / case["nginx_prefix_root"] if "nginx_prefix_root" in case else None,
        nginx_path_map={key: folder / value for key, value in case.get("nginx_path_map", {}).items()},
        site_url=case.get("site_url"),
        socket_url=case.get("socket_url"),
    )
    ping = (float(case.get("ping_interval_s", 25)), float(case.get("ping_timeout_s", 20)), "the case's ping timers")
    # No process environment: the corpus is judged on its files alone, whatever this machine has.
    return run_audit(profile, inputs, ping=ping, process_env={})


def verdict(result: CheckResult) -> str:
    """The corpus's words for a result: review and warning are both WARNING, told by the findings."""
    if result.status is not Status.WARNING:
        return result.status.value
    severities = {finding.severity for finding in result.findings}
    return "warning" if "warning" in severities else "review"


@pytest.mark.parametrize("folder", CASES, ids=[path.name for path in CASES])
def test_the_audit_agrees_with_the_expert(folder: Path) -> None:
    case = read_case(folder)
    if case.get("exit") == 2:
        with pytest.raises(UsageError) as raised:
            run_case(folder)
        assert case["error"] in str(raised.value)
        assert "\n" not in str(raised.value)
        return
    results = run_case(folder)
    got = {r.check_id: verdict(r) for r in results if r.check_id in case["expected"]}
    assert got == case["expected"], "\n".join(
        f"{r.check_id} {r.status.value}: {r.message}" for r in results if r.check_id in case["expected"]
    )
    judged = {r.check_id for r in results if r.status is not Status.SKIPPED}
    families = {check.split("-")[0] for check in case["expected"]}
    assert {check for check in judged if check.split("-")[0] in families} <= set(case["expected"])


@pytest.mark.parametrize("folder", CASES, ids=[path.name for path in CASES])
def test_every_finding_names_a_place_and_a_fix(folder: Path) -> None:
    if read_case(folder).get("exit") == 2:
        return
    for result in run_case(folder):
        for finding in result.findings:
            assert finding.where, (result.check_id, finding)
            assert finding.fix, (result.check_id, finding)


def test_the_corpus_is_what_its_readme_says() -> None:
    assert len(CASES) == 56
    statuses = {status for folder in CASES for status in read_case(folder)["expected"].values()}
    assert statuses <= {"passed", "failed", "warning", "review", "skipped"}
