"""The suite against every fault of the reference app: the right checks must fail, and only those.

Each case runs the real command, `realtime-verify run --fault NAME`, against its own embedded stack
and reads the summary.json it writes.
"""

from __future__ import annotations

import inspect
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from realtime_verify.faults import FAULTS, Fault

E2E = Path(__file__).resolve().parents[1] / "e2e"
CHECKED = [fault for fault in FAULTS.values() if fault.breaks or fault.warns]

# For each fault, the check whose message must name the cause, and words it must contain.
CAUSE = {
    "nginx-no-upgrade": ("RT-001", "long-polling"),
    "nginx-http-1.0": ("NGX-002", "proxy_http_version"),
    "env-sources-disagree": ("ENV-003", "differs between sources"),
    "nginx-short-read-timeout": ("HS-002", "proxy_read_timeout"),
    "nginx-host-without-port": ("HS-001", "Origin"),
    "insecure-socket-url": ("RT-001", "insecure"),
    "websockets-disabled": ("RT-001", "NEXT_PUBLIC_ENABLE_WEBSOCKETS"),
    "socket-path-mismatch": ("RT-001", "/ws"),
    "ping-above-edge-timeout": ("HS-002", "idle timeout"),
    "edge-challenge-socket": ("HS-004", "challenged"),
    "edge-cache-socket": ("HS-005", "cache"),
    "edge-dns-only": ("HS-006", "cf-ray"),
    "edge-websockets-off": ("CF-001", "WebSockets are 'off'"),
    "zone-bic-on-socket": ("CF-003", "Browser Integrity Check is on"),
    "zone-bot-fight-mode": ("CF-004", "Bot Fight Mode is on"),
    "zone-argo-on": ("CF-006", "Argo Smart Routing is on"),
    "no-broadcast": ("RT-002", "never received"),
    "chat-leaks-to-all": ("RT-003", "user c"),
    "no-pong": ("RT-005", "health:pong"),
    "sender-spoofable": ("RT-006", "sender_id"),
    "no-socket-auth": ("HS-007", "was accepted"),
}


def run_suite(tmp_path: Path, *args: str) -> tuple[int, dict[str, Any], str]:
    output = tmp_path / "reports"
    command = [sys.executable, "-m", "realtime_verify.cli", "run", "--output", str(output), *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    summary_path = output / "summary.json"
    assert summary_path.exists(), f"no summary.json; output:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}"
    return done.returncode, json.loads(summary_path.read_text()), done.stdout


# A check no running stack can fail on its own, proven instead by a broken deployment file
# (tests/unit/test_audit_nginx.py runs it): with no location proxying /socket.io/ nothing connects,
# and the preflight rightly ends the run before any check.
PROVEN_BY_FIXTURE = {"NGX-001": "tests/fixtures/nginx/no-socket-proxy.conf"}


def suite_check_ids() -> set[str]:
    """Every check ID the suite declares, from the check markers of tests/e2e (parametrized too)."""
    ids = set()
    sys.path.insert(0, str(E2E.parent.parent))
    for path in E2E.glob("test_*.py"):
        module = __import__(f"tests.e2e.{path.stem}", fromlist=["*"])
        for _, function in inspect.getmembers(module, inspect.isfunction):
            marks = list(getattr(function, "pytestmark", []))
            for mark in marks:
                if mark.name == "parametrize":
                    marks += [m for param in mark.args[1] for m in getattr(param, "marks", ())]
            ids.update(mark.args[0] for mark in marks if mark.name == "check")
    return ids


def test_every_check_is_proven_by_a_fault() -> None:
    proven = {check for fault in FAULTS.values() for check in (*fault.breaks, *fault.warns)}
    unproven = suite_check_ids() - proven - set(PROVEN_BY_FIXTURE)
    assert not unproven, f"checks no fault makes fail: {sorted(unproven)}"
    for path in PROVEN_BY_FIXTURE.values():
        assert (E2E.parents[1] / path).is_file()


def test_every_fault_with_checks_names_its_cause() -> None:
    assert set(CAUSE) == {fault.name for fault in CHECKED}


@pytest.mark.parametrize("fault", CHECKED, ids=lambda fault: fault.name)
def test_fault_fails_exactly_its_checks(fault: Fault, tmp_path: Path) -> None:
    code, summary, stdout = run_suite(tmp_path, "--fault", fault.name)
    statuses = {check["check_id"]: check for check in summary["checks"]}
    failed = {check_id for check_id, check in statuses.items() if check["status"] == "failed"}
    context = f"fault {fault.name}: failed {sorted(failed)}\n{stdout[-4000:]}"
    for check_id in fault.warns:
        assert statuses[check_id]["status"] == "warning", context
    assert code == (1 if fault.breaks else 0), context
    assert set(fault.breaks) <= failed, (
        f"these checks should have failed: {sorted(set(fault.breaks) - failed)}; {context}"
    )
    unexpected = failed - set(fault.breaks) - set(fault.may_break)
    assert not unexpected, f"these checks should have passed: {sorted(unexpected)}; {context}"
    check_id, words = CAUSE[fault.name]
    message = statuses[check_id]["message"]
    assert words.lower() in message.lower(), f"{check_id} should name the cause ({words!r}): {message}"
    assert summary["verdict"] == ("FAILED" if fault.breaks else "PASSED")
    assert summary["faults"] == [fault.name]
