"""Interrupted runs against the embedded stack: SIGTERM (CI's cancel) and SIGINT (Ctrl-C) in the middle
of a check, Ctrl-C to the whole process group as a terminal sends it, SIGTERM while the stack starts.

Each ends with 143 or 130 and its reports (INTERRUPTED, the checks that did not finish "not run",
junit.xml valid), and leaves no process and no private temp folder behind. Processes are found
through /proc as descendants of the run, recorded just before the signal.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.reliability.conftest import (
    Result,
    alive,
    assert_no_secret,
    assert_one_line,
    assert_summary,
    children_of,
    clean_env,
    read_summary,
    stop_leftovers,
)

START_BOUND_S = 150.0  # the stack and Chromium start well within this, even on a busy machine
EXIT_BOUND_S = 60.0  # an interrupted run stops everything and writes its reports within this
GONE_BOUND_S = 15.0  # what it started is gone within this after it exited
STACK_FOLDER = re.compile(r"-p (\S*realtime-verify-[^/\s]+)")


@dataclass
class Interrupted:
    result: Result
    running: list[str]  # the run's descendants when the signal was sent
    left: list[str]  # those still alive after the run exited
    folders: list[Path]  # the embedded stack's private folders seen while it ran


def _wait_for(pid: int, wanted: str, deadline: float) -> None:
    """Poll /proc until a descendant of `pid` matches `wanted` (the run's own progress, seen from outside)."""
    pattern = re.compile(wanted)
    while time.monotonic() < deadline:
        if any(pattern.search(line) for line in alive(children_of(pid))):
            return
        time.sleep(0.1)  # a readiness poll of /proc, bounded by the deadline
    raise AssertionError(f"no process matching {wanted!r} under the run within {START_BOUND_S} s")


def interrupt(tmp_path: Path, signum: signal.Signals, *, when: str, group: bool = False) -> Interrupted:
    """Start `run --check RT-002` on the embedded stack, send `signum` once a process matching `when`
    runs under it (to the run, or to its whole process group), and collect what it left."""
    folder = tmp_path / "reports"
    log = (tmp_path / "output.log").open("w+")
    command = [sys.executable, "-m", "realtime_verify.cli", "run", "--check", "RT-002", "--output", str(folder)]
    start = time.monotonic()
    process = subprocess.Popen(
        command, stdout=log, stderr=subprocess.STDOUT, env=clean_env(), cwd=tmp_path, start_new_session=True
    )
    running: set[int] = set()
    try:
        _wait_for(process.pid, when, start + START_BOUND_S)
        running = children_of(process.pid)
        cmdlines = alive(running)
        if group:
            os.killpg(process.pid, signum)  # its own session: the group is this run and nothing else
        else:
            process.send_signal(signum)
        code = process.wait(EXIT_BOUND_S)
        deadline = time.monotonic() + GONE_BOUND_S
        while alive(running) and time.monotonic() < deadline:
            time.sleep(0.2)  # bounded: children may take a moment to be reaped after the run exits
        left = alive(running)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
        stop_leftovers(running)
        log.seek(0)
        output = log.read()
        log.close()
    folders = sorted({Path(m.group(1)) for line in cmdlines for m in [STACK_FOLDER.search(line)] if m})
    result = Result(command[3:], code, output, time.monotonic() - start, folder, read_summary(folder))
    return Interrupted(result, cmdlines, left, folders)


# In the middle of a check: a page of RT-002 exists once a Chromium renderer other than its UI runs.
PAGE_OPEN = r"chromium .*--type=renderer(?!.*--top-chrome-webui)"
STACK_STARTING = r"realtime_verify\.stack\.supervisor"


@pytest.fixture(scope="module")
def sigterm_run(tmp_path_factory: pytest.TempPathFactory) -> Interrupted:
    return interrupt(tmp_path_factory.mktemp("sigterm"), signal.SIGTERM, when=PAGE_OPEN)


@pytest.fixture(scope="module")
def sigint_run(tmp_path_factory: pytest.TempPathFactory) -> Interrupted:
    return interrupt(tmp_path_factory.mktemp("sigint"), signal.SIGINT, when=PAGE_OPEN)


def assert_interrupted(run: Interrupted, code: int, name: str, *, stack_up: bool = True) -> None:
    """Exit code, the verdict line, reports (junit.xml valid), nothing left running, no temp folder."""
    result = run.result
    assert result.code == code, f"exit {result.code}, expected {code}:\n{result.output[-3000:]}"
    assert_one_line(result.output, "verdict: INTERRUPTED (1 not run)")
    assert_summary(result, "INTERRUPTED", ended_early=False)
    assert result.summary is not None
    [check] = result.summary["checks"]
    assert check["check_id"] == "RT-002", check
    assert check["status"] == "not run", check
    assert f"({name})" in check["message"], check["message"]
    history = (result.folder / "history.jsonl").read_text().splitlines()
    assert len(history) == 1, "one history line per run, also an interrupted one"
    assert any("supervisor" in line for line in run.running), "the signal came while the stack ran"
    assert not run.left, f"left running after the run exited: {run.left}"
    if stack_up:
        assert run.folders, "the stack's private folder was seen while it ran"
    assert not [f for f in run.folders if f.exists()], f"left behind: {run.folders}"
    assert_no_secret(result)


def test_sigterm_in_the_middle_of_a_check(sigterm_run: Interrupted) -> None:
    assert_interrupted(sigterm_run, 143, "SIGTERM")


def test_sigint_in_the_middle_of_a_check(sigint_run: Interrupted) -> None:
    assert_interrupted(sigint_run, 130, "SIGINT")


def test_sigterm_prints_no_traceback(sigterm_run: Interrupted) -> None:
    assert "Traceback" not in sigterm_run.result.output, sigterm_run.result.output[-3000:]


def test_sigint_prints_no_traceback(sigint_run: Interrupted) -> None:
    assert "Traceback" not in sigint_run.result.output, sigint_run.result.output[-3000:]


def test_the_check_in_progress_is_said_to_be_cut_short(sigint_run: Interrupted) -> None:
    assert sigint_run.result.summary is not None
    [check] = sigint_run.result.summary["checks"]
    assert check["message"] == "interrupted (SIGINT) while it ran", check["message"]


def test_an_interrupted_summary_says_why_it_ended(sigterm_run: Interrupted) -> None:
    assert sigterm_run.result.summary is not None
    assert "SIGTERM" in str(sigterm_run.result.summary.get("error")), sigterm_run.result.summary.get("error")


def test_ctrl_c_in_a_terminal_reaches_the_whole_group(tmp_path: Path) -> None:
    """A terminal's Ctrl-C sends SIGINT to every process of the foreground group: the run, Playwright's
    driver and Chromium at once (the stack's supervisor has its own session and is stopped by the run)."""
    assert_interrupted(interrupt(tmp_path, signal.SIGINT, when=PAGE_OPEN, group=True), 130, "SIGINT")


def test_sigterm_while_the_stack_starts(tmp_path: Path) -> None:
    run = interrupt(tmp_path, signal.SIGTERM, when=STACK_STARTING)
    assert "Traceback" not in run.result.output, run.result.output[-3000:]
    assert_interrupted(run, 143, "SIGTERM", stack_up=False)
