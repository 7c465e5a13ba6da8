"""The suite against every fault of the embedded stack: the right checks must fail, and only those.

Each case runs the real command, `python -m realtime_verify.cli run --fault NAME`, against its own
embedded stack and reads the summary.json it writes. What each fault must break comes from the fault
catalogue (`realtime_verify.stack.faults`), the checks from the check catalogue.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from realtime_verify import catalogue as c
from realtime_verify.catalogue import CATALOGUE, Check, RunProfile
from realtime_verify.stack.faults import FAULTS, Fault

ROOT = Path(__file__).resolve().parents[2]
CHECKED = [fault for fault in FAULTS.values() if fault.breaks or fault.warns]
RUN_TIMEOUT_S = 600

# For each fault, the check whose message must name the cause, and words that message must contain.
CAUSE: dict[str, tuple[Check, str]] = {
    "nginx-no-upgrade": (c.RT_001, "long-polling"),
    "nginx-http-1.0": (c.NGX_002, "proxy_http_version"),
    "env-sources-disagree": (c.ENV_003, "differs between sources"),
    "nginx-short-read-timeout": (c.HS_002, "proxy_read_timeout"),
    "nginx-host-without-port": (c.HS_001, "Origin"),
    "insecure-socket-url": (c.RT_001, "insecure"),
    "websockets-disabled": (c.RT_001, "NEXT_PUBLIC_ENABLE_WEBSOCKETS"),
    "socket-path-mismatch": (c.RT_001, "/ws"),
    "ping-above-edge-timeout": (c.HS_002, "idle timeout"),
    "edge-challenge-socket": (c.HS_004, "challenged"),
    "edge-cache-socket": (c.HS_005, "cache"),
    "edge-dns-only": (c.HS_006, "cf-ray"),
    "edge-websockets-off": (c.CF_001, "WebSockets are 'off'"),
    "zone-bic-on-socket": (c.CF_003, "Browser Integrity Check is on"),
    "zone-bot-fight-mode": (c.CF_004, "Bot Fight Mode is on"),
    "zone-argo-on": (c.CF_006, "Argo Smart Routing is on"),
    "no-broadcast": (c.RT_002, "never received"),
    "chat-leaks-to-all": (c.RT_003, "user c"),
    "no-pong": (c.RT_005, "health:pong"),
    "sender-spoofable": (c.RT_006, "claiming sender"),
    "no-socket-auth": (c.HS_007, "was accepted"),
    "no-resync": (c.FT_002, "does not fetch what it missed"),
    "duplicate-on-resync": (c.FT_002, "re-applies what the page already had"),
    "no-reconnect": (c.FT_001, "never tried to reconnect"),
    "no-missed-pong-check": (c.FT_003, "never noticed that its link was dead"),
    "sw-intercepts-socket": (c.SW_002, "the service worker answered"),
    "sw-no-skip-waiting": (c.SW_001, "stayed waiting"),
    "slow-connect-handler": (c.FT_005, "were not back within"),
}
# A check no running stack can fail on its own, proven instead by a broken deployment file
# (tests/unit/test_audit_nginx.py runs it): with no location proxying the socket path nothing
# connects, and the preflight rightly ends the run before any check.
PROVEN_BY_FIXTURE = {c.NGX_001: "tests/fixtures/nginx/no-socket-proxy.conf"}
# Every run of a fault: fewer chat samples (the latency figures are not what a fault run proves), and
# whatever RV_SELFTEST_RUN_ARGS adds (`make selftest-nightly`: the nightly profile, production timers).
# No fault here is proven by a latency budget, and p95 over 5 samples is their maximum: one slow render
# on a loaded machine (measured: 319 ms) must not count as a fault's side effect. Budgets of 2 s.
FAULT_RUN_ARGS = [
    *("--set", "budgets.chat_samples=5", "--set", "budgets.chat_p95_ms=2000", "--set", "budgets.item_p95_ms=2000"),
    *os.environ.get("RV_SELFTEST_RUN_ARGS", "").split(),
]


def run_args(fault: Fault) -> list[str]:
    """The signoff profile (nightly when the fault must fail a nightly-only check), limited to the
    check families the fault can reach at all (a zone overlay cannot reach a browser)."""
    checks = (*fault.breaks, *fault.warns)
    args = [] if all(RunProfile.SIGNOFF in check.profiles for check in checks) else ["--profile", "nightly"]
    for family in sorted(fault.reach or ()):
        args += ["--check", family.value]
    return [*args, *FAULT_RUN_ARGS]


def run_suite(output: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    command = [sys.executable, "-m", "realtime_verify.cli", "run", "--output", str(output), *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False)
    summary_path = output / "summary.json"
    assert summary_path.exists(), f"no summary.json; output:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}"
    return done.returncode, json.loads(summary_path.read_text()), done.stdout + done.stderr


@pytest.fixture(scope="module")
def suite_checks(tmp_path_factory: pytest.TempPathFactory) -> set[Check]:
    """The catalogue checks the suite implements: what the real command collects for the nightly profile."""
    code, summary, output = run_suite(tmp_path_factory.mktemp("collect"), "--profile", "nightly", "--collect-only")
    assert code == 0, output
    return {CATALOGUE[check["check_id"]] for check in summary["checks"]}


def test_the_suite_implements_every_check_of_the_catalogue(suite_checks: set[Check]) -> None:
    missing = sorted(check.id for check in set(CATALOGUE) - suite_checks)
    assert not missing, f"the catalogue declares checks the nightly run does not collect: {missing}"


def proven_by_faults() -> set[Check]:
    return {check for fault in FAULTS.values() for check in (*fault.breaks, *fault.warns)}


def test_every_check_of_the_suite_is_proven_by_a_fault(suite_checks: set[Check]) -> None:
    unproven = sorted(check.id for check in suite_checks - proven_by_faults() - set(PROVEN_BY_FIXTURE))
    assert not unproven, f"checks no fault makes fail: {unproven}"
    for path in PROVEN_BY_FIXTURE.values():
        assert (ROOT / path).is_file(), path


def test_every_fault_with_checks_names_its_cause() -> None:
    assert set(CAUSE) == {fault.name for fault in CHECKED}
    for name, (check, _) in CAUSE.items():
        fault = FAULTS[name]
        assert check in (*fault.breaks, *fault.warns), f"{name}: {check} is not a check it breaks"


@pytest.mark.parametrize("fault", CHECKED, ids=lambda fault: fault.name)
def test_fault_fails_exactly_its_checks(fault: Fault, tmp_path: Path) -> None:
    code, summary, output = run_suite(tmp_path / "reports", "--fault", fault.name, *run_args(fault))
    results = {check["check_id"]: check for check in summary["checks"]}
    by_status: dict[str, set[str]] = {}
    for check_id, check in results.items():
        by_status.setdefault(check["status"], set()).add(check_id)
    failed = by_status.get("failed", set())
    context = f"fault {fault.name}: {dict(sorted(by_status.items()))}\n{output[-4000:]}"

    assert not by_status.get("error"), f"the harness itself broke: {context}"
    assert not by_status.get("not run"), f"the run ended early: {context}"
    breaks = {check.id for check in fault.breaks}
    assert breaks <= set(results), f"checks that should have run: {sorted(breaks - set(results))}; {context}"
    assert breaks <= failed, f"these checks should have failed: {sorted(breaks - failed)}; {context}"
    unexpected = failed - breaks - {check.id for check in fault.may_break}
    assert not unexpected, f"these checks should have passed: {sorted(unexpected)}; {context}"
    for check in fault.warns:
        assert results[check.id]["status"] == "warning", context
    warned = by_status.get("warning", set()) - {check.id for check in fault.warns}
    assert not warned, f"unexpected warnings: {sorted(warned)}; {context}"

    check, words = CAUSE[fault.name]
    message = results[check.id]["message"]
    assert words.lower() in message.lower(), f"{check} should name the cause ({words!r}): {message}"
    assert code == (1 if fault.breaks else 0), context
    assert summary["verdict"] == ("FAILED" if fault.breaks else "PASSED")
    assert summary["faults"] == [fault.name]
