"""The static audit as checks of the suite: env vars, the nginx proxy block, the Cloudflare zone.

They judge the files and zone the profile names; with the embedded stack, the very .env,
ConfigMap and nginx conf the stack runs. A check whose input is not configured is skipped, saying so.
"""

from __future__ import annotations

import asyncio
import os

import pytest
import pytest_asyncio

from realtime_verify.audit import AuditInputs, run_cloudflare, run_env, run_nginx
from realtime_verify.checks.audit import TITLES, AuditResult
from realtime_verify.errors import RealtimeVerifyError
from realtime_verify.plugin import CheckMetrics, RunState, abort_run
from realtime_verify.target import Target

CHECKS = [check for check in TITLES if check.split("-")[0] in ("ENV", "NGX", "CF")]


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def audit_results(rv_target: Target, rv_run: RunState) -> dict[str, AuditResult]:
    profile = rv_target.profile
    inputs = AuditInputs.from_profile(profile)
    handshake = rv_target.handshake
    ping = None
    if handshake.ping_interval_s is not None and handshake.ping_timeout_s is not None:
        ping = (handshake.ping_interval_s, handshake.ping_timeout_s, "the live handshake")
    try:
        results = run_env(profile, inputs) + run_nginx(profile, inputs, ping)
        env = {**os.environ, **rv_target.extra_env}
        results += await asyncio.to_thread(run_cloudflare, profile, inputs, env)
    except RealtimeVerifyError as error:
        abort_run(rv_run, error)
        raise
    return {result.check_id: result for result in results}


@pytest.mark.smoke
@pytest.mark.signoff
@pytest.mark.nightly
@pytest.mark.parametrize(
    "check_id", [pytest.param(check, marks=pytest.mark.check(check, title=TITLES[check]), id=check) for check in CHECKS]
)
def test_static_audit(check_id: str, audit_results: dict[str, AuditResult], rv_metrics: CheckMetrics) -> None:
    result = audit_results[check_id]
    if result.skipped:
        pytest.skip(result.skipped)
    rv_metrics.values["checked"] = result.checked
    result.raise_for_failure()
    for finding in result.findings:
        # Warnings and what needs a person's review pass, but the report shows them as warnings.
        prefix = "needs review: " if finding.severity == "review" else ""
        rv_metrics.warnings.append(f"{prefix}{finding.where}: {finding.found}")
