"""Unreachable and hostile targets: the right exit code within a bounded time, one line naming the
cause, no password anywhere (also when the server echoes it), and a summary.json saying what ran.

The hostile targets are `servers.py` processes: alone (plain, TLS, challenge, silent) or as a proxy in
front of the reference app that misbehaves in one way each.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.reference_app.conftest import RefApp
from tests.reliability.conftest import (
    PASSWORDS,
    WRONG_PASSWORD,
    Result,
    assert_case,
    assert_no_secret,
    closed_url,
    realtime_verify,
)

StartServer = Callable[..., str]
USERS = ",".join(f"{user}:{password}" for user, password in PASSWORDS.items())
FAST_RECONNECT = {"RA_RECONNECT_DELAY_MS": "200", "RA_RECONNECT_DELAY_MAX_MS": "400"}


# Nothing to verify: exit 3 within seconds -----------------------------------------------------------


def test_a_closed_port(tmp_path: Path) -> None:
    url = closed_url()
    result = realtime_verify(tmp_path, "run", "--target", url)
    line = f"cannot connect to {url}/socket.io/?EIO=4&transport=polling"
    assert_case(result, 3, line, summary="UNREACHABLE", ended_early=True, max_s=60)


def test_plain_http_that_is_not_socketio(tmp_path: Path, server: StartServer) -> None:
    url = server("plain")
    result = realtime_verify(tmp_path, "run", "--target", url)
    line = "/socket.io/?EIO=4&transport=polling answered HTTP 200 (text/html) but not a socket.io handshake"
    assert_case(result, 3, line, summary="UNREACHABLE", ended_early=True, max_s=60)


def test_a_server_that_never_answers(tmp_path: Path, server: StartServer) -> None:
    url = server("silent")
    result = realtime_verify(tmp_path, "run", "--target", url, "--set", "target.connect_timeout_s=2")
    line = f"no answer from {url}/socket.io/?EIO=4&transport=polling within 2 s (target.connect_timeout_s)"
    assert_case(result, 3, line, summary="UNREACHABLE", ended_early=True, max_s=60)


def test_tls_from_an_unknown_ca(tmp_path: Path, server: StartServer) -> None:
    url = server("untrusted")
    result = realtime_verify(tmp_path, "run", "--target", url)
    line = f"TLS failed for {url}/socket.io/?EIO=4&transport=polling: [SSL: CERTIFICATE_VERIFY_FAILED]"
    assert_case(result, 3, line, summary="UNREACHABLE", ended_early=True, max_s=60)
    assert "A private CA? Set target.ca_file." in result.output


def test_a_self_signed_certificate(tmp_path: Path, server: StartServer) -> None:
    url = server("self-signed")
    result = realtime_verify(tmp_path, "run", "--target", url)
    line = "certificate verify failed: self-signed certificate"
    assert_case(result, 3, line, summary="UNREACHABLE", ended_early=True, max_s=60)


def test_a_challenge_page_everywhere(tmp_path: Path, server: StartServer) -> None:
    url = server("challenge")
    result = realtime_verify(tmp_path, "run", "--target", url)
    line = "Cloudflare challenged both the page and /socket.io/ (HTTP 403, cf-mitigated: challenge)"
    assert_case(result, 3, line, summary="UNREACHABLE", ended_early=True, max_s=60)


# Logins that cannot work: exit 2 naming the account or the endpoint --------------------------------


def test_a_login_endpoint_answering_html(tmp_path: Path, server: StartServer, ref_app: RefApp) -> None:
    url = server("proxy", "--login", "html", upstream=ref_app.url)
    result = realtime_verify(tmp_path, "run", "--target", url, "--check", "RT-001")
    line = "login as 'alice' at /api/login answered HTTP 200 but not JSON (text/html): is auth.login_path"
    assert_case(result, 2, line, summary="ERROR", ended_early=True)


def test_a_wrong_password_for_user_a(tmp_path: Path, ref_app: RefApp) -> None:
    env = {"RV_USER_A_PASSWORD": WRONG_PASSWORD}
    result = realtime_verify(tmp_path, "run", "--target", ref_app.url, "--check", "RT-001", env=env)
    line = "login as 'alice' at /api/login failed: HTTP 401"
    assert_case(result, 2, line, summary="ERROR", ended_early=True)


def test_a_wrong_password_for_user_b_only(tmp_path: Path, ref_app: RefApp) -> None:
    env = {"RV_USER_B_PASSWORD": WRONG_PASSWORD}
    result = realtime_verify(tmp_path, "run", "--target", ref_app.url, "--check", "RT", env=env)
    line = "login as 'bob' at /api/login failed: HTTP 401"
    assert_case(result, 2, line, summary="ERROR", ended_early=True)
    assert {check["status"] for check in result.summary["checks"]} == {"not run"}, "no RT check judged the app"


def test_a_login_that_echoes_the_request(tmp_path: Path, server: StartServer, ref_app: RefApp) -> None:
    url = server("proxy", "--login", "echo", upstream=ref_app.url)
    result = realtime_verify(tmp_path, "run", "--target", url, "--check", "RT-001")
    assert_case(result, 2, "login as 'alice' at /api/login failed: HTTP 401", summary="ERROR", ended_early=True)
    assert "[REDACTED]" in result.output, "the echoed password is shown redacted"


def test_a_login_that_echoes_the_request_cut_inside_the_password(
    tmp_path: Path, server: StartServer, ref_app: RefApp
) -> None:
    url = server("proxy", "--login", "echo-long", upstream=ref_app.url)
    result = realtime_verify(tmp_path, "run", "--target", url, "--check", "RT-001")
    assert_case(result, 2, "login as 'alice' at /api/login failed: HTTP 401", summary="ERROR", ended_early=True)


# Hostile but reachable: the checks fail, saying why -------------------------------------------------


def run_against(tmp_path: Path, url: str, *args: str) -> Result:
    return realtime_verify(tmp_path, "run", "--target", url, *args, timeout=180)


def test_a_page_that_never_finishes_loading(tmp_path: Path, server: StartServer, ref_app: RefApp) -> None:
    url = server("proxy", "--stall-root", upstream=ref_app.url)
    pages = ("--check", "RT-001", "--check", "RT-002", "--check", "RT-004", "--check", "RT-005")
    result = run_against(tmp_path, url, *pages, "--set", "target.connect_timeout_s=3")
    line = f"page A: {url} did not load within 3 s (target.connect_timeout_s)"
    # Well under a minute: one 3 s load, then every page check knows; now 4 x (3 s + a 10 s screenshot) and more.
    assert_case(result, 1, line, summary="FAILED", max_s=45)


@pytest.fixture(scope="module")
def garbage_run(tmp_path_factory: pytest.TempPathFactory, module_server: StartServer, ref_app: RefApp) -> Result:
    """One run against garbage WebSocket frames, traces kept on failure, judged by the two tests below."""
    url = module_server("proxy", "--ws-garbage", upstream=ref_app.url)
    checks = ("--check", "HS-003", "--check", "RT-001", "--check", "RT-006")
    return run_against(tmp_path_factory.mktemp("garbage"), url, *checks, "--tracing", "retain-on-failure")


def test_garbage_socket_frames(garbage_run: Result) -> None:
    assert_case(garbage_run, 1, "upgraded but sent no Engine.IO open packet", summary="FAILED")
    assert "answered with something that is not Engine.IO" in garbage_run.message_of("RT-006")


def test_no_password_in_any_artifact_of_a_failed_browser_run(garbage_run: Result) -> None:
    """A failed page check keeps screenshots, console logs, frame logs and traces: none holds a password."""
    assert garbage_run.message_of("RT-001").startswith("failed")
    assert list(garbage_run.folder.rglob("trace.zip")), "the failed check kept its trace"
    assert list(garbage_run.folder.rglob("socket-frames.json")), "the failed check kept its frame log"
    assert_no_secret(garbage_run)


@pytest.fixture(scope="module")
def refused_run(tmp_path_factory: pytest.TempPathFactory, module_server: StartServer, ref_app: RefApp) -> Result:
    """One run against a Socket.IO server that refuses every socket, judged by the two tests below."""
    url = module_server("proxy", "--refuse-sockets", upstream=ref_app.url)
    return run_against(tmp_path_factory.mktemp("refused"), url, "--check", "RT-001", "--check", "RT-006")


def test_a_server_refusing_every_socket_watcher(refused_run: Result) -> None:
    assert_case(refused_run, 1, "the server refused watcher a's socket: authentication failed", summary="FAILED")


def test_a_server_refusing_every_socket_page(refused_run: Result) -> None:
    assert_case(refused_run, 1, "authentication failed: no token", summary="FAILED")
    check = next(c for c in refused_run.summary["checks"] if c["check_id"] == "RT-001")
    assert "authentication failed: no token" in check["message"]
    assert "refuses the upgrade" not in check["message"]
    assert "Upgrade and Connection" not in check["fix"], check["fix"]


def test_a_server_closing_every_websocket_after_2_s(tmp_path: Path, server: StartServer, ref_app: RefApp) -> None:
    url = server("proxy", "--ws-close-after", "2", upstream=ref_app.url)
    # All 30 samples a direction: a drop is sure to hit one (5 could all slip between two drops).
    result = run_against(tmp_path, url, "--check", "RT-002")
    message = result.message_of("RT-002")
    assert_case(result, 1, "the connection dropped", summary="FAILED")
    assert "the connection dropped" in message, message


def test_a_proxy_cutting_the_socket_that_carries_a_chat_message(tmp_path: Path, server: StartServer) -> None:
    """The receiver's socket is cut as the message reaches it; the page reconnects at once and its resync
    brings the message: the check must still say that the connection dropped on the way."""
    app = RefApp(tmp_path / "app", {**FAST_RECONNECT, "RA_USERS": USERS})
    app.workdir.mkdir()
    app.start()
    try:
        url = server("proxy", "--ws-cut-on", '"chat:message"', upstream=app.url)
        result = run_against(tmp_path, url, "--check", "RT-002", "--set", "budgets.chat_samples=5")
    finally:
        app.stop()
    assert_case(result, 1, "the connection dropped", summary="FAILED")


def test_every_request_slowed_by_3_s(tmp_path: Path, server: StartServer, ref_app: RefApp) -> None:
    url = server("proxy", "--slow", "3", upstream=ref_app.url)
    result = run_against(tmp_path, url, "--check", "HS-003", "--check", "RT-001")
    assert_case(result, 1, "(target.connect_timeout_s)", summary="FAILED")
    assert result.message_of("HS-003").startswith("passed"), "the upgrade itself works, only slowly"
    message = result.message_of("RT-001")
    assert "refuse" not in message, message
    assert "long-polling" not in message, message


def test_only_the_upgrade_is_slow(tmp_path: Path, server: StartServer, ref_app: RefApp) -> None:
    url = server("proxy", "--slow-upgrade", "10", upstream=ref_app.url)
    result = run_against(tmp_path, url, "--check", "RT-001", "--set", "target.connect_timeout_s=4")
    assert_case(result, 1, "was still pending when the wait ended: the path is slow", summary="FAILED")
    fix = next(c["fix"] for c in result.summary["checks"] if c["check_id"] == "RT-001")
    assert "proxy_http_version" not in fix, f"a slow upgrade is not a missing nginx header: {fix}"


def test_acknowledgements_that_never_come(tmp_path: Path, server: StartServer, ref_app: RefApp) -> None:
    """RT-006 reads the spoofed message's ack when there is one; none is an answer too (metric: none)."""
    url = server("proxy", "--drop-acks", upstream=ref_app.url)
    result = run_against(tmp_path, url, "--check", "RT-006")
    assert_case(result, 0, "PASSED   RT-006", summary="PASSED")
    check = next(c for c in result.summary["checks"] if c["check_id"] == "RT-006")
    assert check["metrics"]["ack"] == "none"


def test_a_join_whose_acknowledgement_never_comes(tmp_path: Path, ref_app: RefApp) -> None:
    join = ("--set", "events.join=room:join", "--set", "events.join_ack=true")
    result = run_against(tmp_path, ref_app.url, "--check", "RT-006", *join)
    line = "watcher a emitted 'room:join' and got no acknowledgement within 8 s"
    assert_case(result, 1, line, summary="FAILED")


# Synthetic data: removed also when the checks that made it failed ----------------------------------


def test_a_failing_run_removes_its_synthetic_data(tmp_path: Path) -> None:
    """RT-002 and RT-004 send marked messages and create marked items, then fail on an impossible budget:
    the app's database holds none of them afterwards."""
    app = RefApp(tmp_path / "app", {"RA_USERS": USERS})
    app.workdir.mkdir()
    app.start()
    try:
        budgets = ("--set", "budgets.chat_p95_ms=0.001", "--set", "budgets.item_p95_ms=0.001")
        checks = ("--check", "RT-002", "--check", "RT-004", "--set", "budgets.chat_samples=5")
        result = run_against(tmp_path, app.url, *checks, *budgets)
    finally:
        app.stop()
    assert_case(result, 1, "is over the budget of 0.001 ms", summary="FAILED")
    assert result.summary is not None
    assert result.summary["values"].get("synthetic messages removed", 0) >= 10, result.summary["values"]
    with sqlite3.connect(app.workdir / "app.sqlite3") as db:
        messages = db.execute("SELECT count(*) FROM messages WHERE text LIKE '%realtime-verify rv-%'").fetchone()[0]
        items = db.execute(
            "SELECT (SELECT count(*) FROM orders WHERE deleted = 0 AND title LIKE '[realtime-verify]%')"
            " + (SELECT count(*) FROM tasks WHERE deleted = 0 AND title LIKE '[realtime-verify]%')"
        ).fetchone()[0]
        created = db.execute("SELECT count(*) FROM orders WHERE title LIKE '[realtime-verify]%'").fetchone()[0]
    assert created >= 2, "RT-004 created its items (and they are marked deleted now)"
    assert (messages, items) == (0, 0), f"left behind: {messages} message(s), {items} item(s)"
