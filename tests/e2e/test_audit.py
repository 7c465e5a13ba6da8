"""ENV-*, NGX-*, CF-*: the static audit as checks of the suite.

They judge the files and zone the profile names; with the embedded stack, the very .env, ConfigMap
and nginx conf the stack runs, and its emulated zone. A family with no input is skipped, saying so.
"""

from __future__ import annotations

import asyncio
import dataclasses
import os

import pytest
import pytest_asyncio

from realtime_verify.audit.run import AuditInputs, run_cloudflare, run_env, run_nginx
from realtime_verify.catalogue import CATALOGUE, Check, Family
from realtime_verify.checks.handshake import refused_origin
from realtime_verify.errors import CheckFailure, NotApplicable
from realtime_verify.outcome import CheckResult, Judgement, Status
from realtime_verify.probes import Handshake
from realtime_verify.run import CheckRecord
from realtime_verify.target import Target

AUDIT_CHECKS = [check for check in CATALOGUE if check.family in (Family.ENV, Family.NGX, Family.CF)]


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def audit_results(rv_target: Target, origin_handshake: Handshake) -> dict[str, CheckResult]:
    """The whole audit, once per run; a usage error (an unreadable file, a refused token) ends the run."""
    profile = rv_target.profile
    inputs = AuditInputs.from_profile(profile)
    handshake = rv_target.handshake
    ping = None
    if handshake.ping_interval_s is not None and handshake.ping_timeout_s is not None:
        ping = (handshake.ping_interval_s, handshake.ping_timeout_s, "the live handshake")
    # NGX-005 says the Origin *is* refused only when the live handshake saw it refused.
    refusal = refused_origin(origin_handshake.status, origin_handshake.body)
    results = run_env(profile, inputs) + run_nginx(profile, inputs, ping, refusal)
    env = {**os.environ, **rv_target.extra_env}
    results += await asyncio.to_thread(run_cloudflare, profile, inputs, env)
    return {result.check_id: result for result in results}


@pytest.mark.parametrize("check", [pytest.param(k, marks=pytest.mark.check(k), id=k.id) for k in AUDIT_CHECKS])
def test_static_audit(check: Check, audit_results: dict[str, CheckResult], rv_check: CheckRecord) -> None:
    result = audit_results[check.id]
    if result.status is Status.SKIPPED:
        raise NotApplicable(result.message)
    if result.status is Status.FAILED:
        raise CheckFailure(result.message, fix=result.fix, findings=result.findings)
    # An advisory check's findings (CF-004, CF-006) warn; reviews and warnings are shown as such.
    shown = [dataclasses.replace(f, severity="warning") if f.severity == "error" else f for f in result.findings]
    rv_check.record(Judgement(findings=shown, checked=result.checked))
