"""The bad-input corpus's harness: the command run as a user runs it, hostile servers, and the four
things every case asserts (exit code, one line, no secret, what summary.json records).

Every process a case starts is a child of this one, started with a timeout and stopped by its PID.
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ElementTree
import zipfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.reference_app.conftest import RefApp

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

# Distinctive secrets: any of them found in an output or a report is a leak.
PASSWORDS = {"alice": "Alice-Secret-7731-pw", "bob": "Bob-Secret-4417-pw", "carol": "Carol-Secret-2290-pw"}
CF_TOKEN = "cf-Token-Secret-5519-zz"
WRONG_PASSWORD = "Wrong-Secret-8080-pw"  # a mistyped password is as secret as the right one
ACCOUNTS = {
    "RV_USER_A": "alice",
    "RV_USER_A_PASSWORD": PASSWORDS["alice"],
    "RV_USER_B": "bob",
    "RV_USER_B_PASSWORD": PASSWORDS["bob"],
    "RV_USER_C": "carol",
    "RV_USER_C_PASSWORD": PASSWORDS["carol"],
    "CLOUDFLARE_API_TOKEN": CF_TOKEN,
}
SECRETS = (*PASSWORDS.values(), CF_TOKEN, WRONG_PASSWORD)
# Long enough that a cut-off piece of a secret still counts as a leak.
SECRET_PIECE = 10

CASE_TIMEOUT_S = 120.0


@dataclass
class Result:
    """What one command did: its exit code, everything it printed, how long it took, its reports."""

    args: list[str]
    code: int
    output: str
    elapsed: float
    folder: Path
    summary: dict[str, Any] | None = None

    def message_of(self, check_id: str) -> str:
        assert self.summary is not None, self.output
        found = [c for c in self.summary["checks"] if c["check_id"] == check_id]
        assert found, f"{check_id} is not in summary.json: {[c['check_id'] for c in self.summary['checks']]}"
        return f"{found[0]['status']}: {found[0].get('message', '')}"


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment without any RV_* setting of the engineer's shell, plus the accounts."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RV_", "CLOUDFLARE_"))}
    env.update(ACCOUNTS)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


def realtime_verify(
    tmp_path: Path,
    *args: str,
    env: dict[str, str] | None = None,
    timeout: float = CASE_TIMEOUT_S,
    output: Path | None = None,
    cwd: Path | None = None,
    launcher: Sequence[str] = (sys.executable, "-m", "realtime_verify.cli"),
) -> Result:
    """`realtime-verify ARGS` as a user types it; `run` and `audit` write into their own folder.
    `launcher` is how the command starts (another interpreter setup, for the cases that need one)."""
    folder = output or tmp_path / "reports"
    command = list(args)
    if command and command[0] in ("run", "audit") and "--output" not in command:
        command[1:1] = ["--output", str(folder)]
    start = time.monotonic()
    process = subprocess.Popen(
        [*launcher, *command],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(env),
        cwd=cwd or tmp_path,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        # A hang is this case's failure; what the command started goes with it, each by its PID.
        started = children_of(process.pid)
        process.kill()
        stdout, stderr = process.communicate(timeout=30)
        stop_leftovers(started)
        tail = (stdout + stderr)[-3000:]
        raise AssertionError(f"{' '.join(command)} did not end within {timeout:g} s:\n{tail}") from None
    elapsed = time.monotonic() - start
    return Result(command, process.returncode, stdout + stderr, elapsed, folder, read_summary(folder))


def read_summary(folder: Path) -> dict[str, Any] | None:
    path = folder / "summary.json"
    if not path.is_file():
        return None
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


# The assertions every case makes -----------------------------------------------------------------


def assert_case(
    result: Result,
    code: int,
    line: str,
    *,
    summary: str | None = None,
    ended_early: bool = False,
    max_s: float | None = None,
    only_line: bool = False,
) -> None:
    """The exit code; one line naming what to fix, no traceback; no secret anywhere; summary.json.

    `summary`: the verdict summary.json must record (None: the run must not have started, so no
    summary is written); `ended_early`: the run ended before its checks, so `error` says why;
    `only_line`: the command printed nothing but that line (an error found before any work).
    """
    output = result.output
    assert result.code == code, f"exit {result.code}, expected {code}:\n{output[-3000:]}"
    assert "Traceback" not in output, output[-3000:]
    assert "INTERNALERROR" not in output, output[-3000:]
    assert_one_line(output, line)
    if only_line:
        printed = [text for text in output.splitlines() if text.strip()]
        assert len(printed) == 1, f"one line expected, got {len(printed)}:\n{output[-3000:]}"
    assert_no_secret(result)
    if max_s is not None:
        assert result.elapsed < max_s, f"took {result.elapsed:.1f} s (bound: {max_s} s)"
    if summary is None:
        assert result.summary is None, f"a run that never started wrote a summary: {result.summary}"
        return
    assert_summary(result, summary, ended_early=ended_early)


def assert_one_line(output: str, line: str) -> None:
    """`line` is said, whole, on one line of the output (not cut across lines, not only in a table)."""
    lines = [candidate for candidate in output.splitlines() if line in candidate]
    assert lines, f"{line!r} is not in the output:\n{output[-3000:]}"


def assert_no_secret(result: Result) -> None:
    """No secret, nor a piece of one, in what the command printed or in any file it wrote."""
    places = [("the output", result.output.encode())]
    files = sorted(result.folder.rglob("*")) if result.folder.is_dir() else []
    for path in files:
        if not path.is_file():
            continue
        if zipfile.is_zipfile(path):  # a Playwright trace: what matters is inside
            with zipfile.ZipFile(path) as archive:
                places += [(f"{path}:{name}", archive.read(name)) for name in archive.namelist()]
        else:
            places.append((str(path), path.read_bytes()))
    for secret in SECRETS:
        pieces = {secret[i : i + SECRET_PIECE].encode() for i in range(len(secret) - SECRET_PIECE + 1)}
        for where, data in places:
            leaked = [piece for piece in pieces if piece in data]
            assert not leaked, f"a secret ({secret[:3]}...) leaked into {where}: {leaked[0]!r}"


def assert_summary(result: Result, verdict: str, *, ended_early: bool) -> None:
    summary = result.summary
    assert summary is not None, f"no summary.json in {result.folder}:\n{result.output[-2000:]}"
    assert summary["verdict"] == verdict, (summary["verdict"], summary.get("error"), result.output[-2000:])
    assert summary["exit_status"] == result.code
    checks = summary["checks"]
    assert checks, "summary.json lists no check: it must say what ran and what did not"
    for check in checks:
        assert check["check_id"], check
        assert check["status"] in {"passed", "failed", "warning", "skipped", "not run", "error"}, check
        if check["status"] != "passed":
            assert check.get("message"), f"{check['check_id']} is {check['status']} without saying why"
    if ended_early:
        assert summary.get("error"), "a run that ended early says why in summary.json's `error`"
        assert {c["status"] for c in checks} <= {"not run", "skipped", "passed", "failed"}
    junit = result.folder / "junit.xml"
    assert junit.is_file(), "junit.xml is written whenever summary.json is"
    suite = ElementTree.parse(junit).getroot()
    cases = suite.findall(".//testcase")
    assert cases, "junit.xml has no testcase: a CI dashboard would show green"
    assert all(case.get("name") for case in cases), "junit.xml has a nameless testcase"
    assert suite.get("tests") == str(len(cases)), f"junit.xml says tests={suite.get('tests')}, holds {len(cases)}"
    assert len(cases) == len(checks), "junit.xml has one testcase per check of summary.json"


# Servers -------------------------------------------------------------------------------------------


class Servers:
    """Starts `servers.py` processes and stops each by its PID: `start("plain")`, or
    `start("proxy", "--slow", "2", upstream=app.url)`, gives the base URL (https for the TLS kinds)."""

    def __init__(self) -> None:
        self.started: list[subprocess.Popen[str]] = []

    def start(self, kind: str, *options: str, upstream: str = "") -> str:
        command = [sys.executable, "-m", "tests.reliability.servers", kind, *options]
        if upstream:
            command += ["--upstream", upstream]
        process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, cwd=ROOT)
        self.started.append(process)
        assert process.stdout is not None
        readable, _, _ = select.select([process.stdout], [], [], 60)
        assert readable, f"{kind} printed nothing within 60 s"
        ready = process.stdout.readline().split()  # "ready PORT" once it listens
        assert ready, f"{kind} did not start (exit {process.poll()})"
        assert ready[0] == "ready", f"{kind} said {ready}"
        scheme = "https" if kind in ("untrusted", "self-signed") else "http"
        return f"{scheme}://127.0.0.1:{ready[1]}"

    def stop_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(5)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(5)


@pytest.fixture
def server() -> Iterator[Callable[..., str]]:
    """Factory of hostile servers for one case; every one started is stopped after it."""
    servers = Servers()
    yield servers.start
    servers.stop_all()


@pytest.fixture(scope="module")
def module_server() -> Iterator[Callable[..., str]]:
    """The same, for a run that several tests of a module judge."""
    servers = Servers()
    yield servers.start
    servers.stop_all()


@pytest.fixture(scope="session")
def ref_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RefApp]:
    """The reference app, once for the corpus, with this corpus's accounts."""
    app = RefApp(
        tmp_path_factory.mktemp("ref-app"),
        {"RA_USERS": ",".join(f"{user}:{password}" for user, password in PASSWORDS.items())},
    )
    app.start()
    yield app
    app.stop()


def closed_url() -> str:
    """A loopback URL nothing listens on (a port just bound and released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def write(path: Path, text: str | bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


# Processes ------------------------------------------------------------------------------------------


def children_of(pid: int) -> set[int]:
    """Every living descendant of `pid`, read from /proc (no psutil)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after the last ")".
        fields = stat.rsplit(")", 1)[1].split()
        parents[int(entry.name)] = int(fields[1])
    found: set[int] = set()
    frontier = {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pids: Sequence[int] | set[int]) -> list[str]:
    """The command lines of the `pids` still running (zombies are gone for our purpose)."""
    living = []
    for pid in pids:
        proc = Path(f"/proc/{pid}")
        try:
            state = (proc / "stat").read_text().rsplit(")", 1)[1].split()[0]
            cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        if state != "Z":
            living.append(f"{pid}: {cmdline[:160]}")
    return living


def stop_leftovers(pids: set[int]) -> None:
    """Last resort after a failed case: stop what it left, each by its PID."""
    for pid in pids:
        if alive([pid]):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
