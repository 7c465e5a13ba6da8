"""Against a dead or wrong target the run ends within seconds, with one clear line and a report."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.reference_app.conftest import RefApp

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ACCOUNTS = {
    "RV_USER_A": "alice",
    "RV_USER_A_PASSWORD": "pw-a",
    "RV_USER_B": "bob",
    "RV_USER_B_PASSWORD": "pw-b",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def fake_server() -> Iterator[object]:
    started: list[subprocess.Popen[str]] = []

    def start(kind: str) -> int:
        port = free_port()
        process = subprocess.Popen(
            [sys.executable, str(FIXTURES / "fake_servers.py"), kind, str(port)],
            stdout=subprocess.PIPE,
            text=True,
        )
        started.append(process)
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
        return port

    yield start
    for process in started:
        process.terminate()
        process.wait(5)


def run(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str, float, dict[str, Any]]:
    output = tmp_path / "reports"
    start = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "realtime_verify.cli", "run", "--output", str(output), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        check=False,
    )
    elapsed = time.monotonic() - start
    summary_path = output / "summary.json"
    summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
    return done.returncode, done.stdout + done.stderr, elapsed, summary


@pytest.mark.parametrize(
    ("kind", "line"),
    [
        ("closed", "cannot connect to http://127.0.0.1:"),
        ("plain", "answered HTTP 200 (text/html) but not a socket.io handshake"),
        ("tls", "TLS failed for https://127.0.0.1:"),
        ("challenge", "Cloudflare challenged both the page and /socket.io/"),
    ],
)
def test_an_unusable_target_ends_the_run_with_exit_3_within_10_s(
    tmp_path: Path, fake_server: object, kind: str, line: str
) -> None:
    port = free_port() if kind == "closed" else fake_server(kind)  # type: ignore[operator]
    scheme = "https" if kind == "tls" else "http"
    code, output, elapsed, summary = run(tmp_path, "--target", f"{scheme}://127.0.0.1:{port}", env=ACCOUNTS)
    assert code == 3, output
    assert elapsed < 10, f"took {elapsed:.1f} s"
    assert line in output
    assert "Traceback" not in output
    assert summary["verdict"] == "UNREACHABLE"
    assert line in str(summary["error"])
    checks = summary["checks"]
    assert checks, "the report lists the checks the run could not make"
    assert {check["status"] for check in checks} == {"not run"}


def test_missing_or_wrong_accounts_are_a_usage_error(tmp_path: Path) -> None:
    app = RefApp(tmp_path)
    app.start()
    try:
        no_accounts = {name: "" for name in ACCOUNTS}
        code, output, _, summary = run(tmp_path, "--target", app.url, env=no_accounts)
        assert code == 2, output
        assert "user a needs the environment variable(s) RV_USER_A, RV_USER_A_PASSWORD" in output
        assert summary["verdict"] == "ERROR"
        code, output, _, _ = run(tmp_path, "--target", app.url, env=ACCOUNTS)
        assert code == 2, output
        assert "login as 'alice' at /api/login failed: HTTP 401" in output
        assert "pw-a" not in output, "a password must never be printed"
    finally:
        app.stop()


@pytest.mark.parametrize(
    ("profile_text", "line"),
    [
        ("[target\nbase_url = 1", "is not valid TOML"),
        (
            "[target]\nbase_ur = 'https://x.example'",
            "unknown key target.base_ur. Did you mean 'base_url'?",
        ),
        ("[budget]\nchat_p95_ms = 1", "unknown section [budget]. Did you mean 'budgets'?"),
        ("[budgets]\nchat_p95_ms = 'fast'", "budgets.chat_p95_ms must be a number, got 'fast'"),
        (
            "[target]\nbase_url = 'ftp://x.example'",
            "target.base_url: must be an absolute http:// or https:// URL",
        ),
    ],
)
def test_a_bad_profile_is_one_clear_line_and_exit_2(tmp_path: Path, profile_text: str, line: str) -> None:
    profile = tmp_path / "target.toml"
    profile.write_text(profile_text)
    code, output, elapsed, _ = run(tmp_path, "--target", str(profile))
    assert code == 2, output
    assert line in output
    assert "Traceback" not in output
    assert elapsed < 10


def test_an_unknown_fault_suggests_the_closest(tmp_path: Path) -> None:
    code, output, _, _ = run(tmp_path, "--fault", "no-brodcast")
    assert code == 2
    assert "Did you mean 'no-broadcast'?" in output
