"""Every exit path stops every process of the stack, by PID, and removes its temp folder."""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO

import pytest

from realtime_verify.errors import TargetUnreachable
from realtime_verify.stack import EmbeddedStack, StackConfig, StackInfo

START_AND_WAIT = """
import asyncio, sys
from realtime_verify.stack import EmbeddedStack
async def main():
    stack = EmbeddedStack()
    info = await stack.start()
    print(info.to_json(), flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"  # a zombie has stopped; only its exit status is left


def gone(info: StackInfo, timeout_s: float = 20) -> None:
    """Wait (bounded) until every process of the stack has exited and its folder is removed."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        left = {name: pid for name, pid in info.pids.items() if alive(pid)}
        if not left and not Path(info.workdir).exists():
            return
        time.sleep(0.05)
    raise AssertionError(
        f"left behind after {timeout_s} s: processes {left}, folder exists: {Path(info.workdir).exists()}"
    )


async def test_normal_exit_stops_everything() -> None:
    async with EmbeddedStack() as stack:
        info = stack.info
        assert all(alive(pid) for pid in info.pids.values())
    gone(info)


async def test_an_exception_inside_stops_everything() -> None:
    started: list[StackInfo] = []

    async def fail_inside() -> None:
        async with EmbeddedStack() as stack:
            started.append(stack.info)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await fail_inside()
    gone(started[0])


async def test_sigterm_to_the_supervisor_stops_everything() -> None:
    stack = EmbeddedStack()
    info = await stack.start()
    os.kill(info.pids["supervisor"], signal.SIGTERM)
    await asyncio.to_thread(gone, info)
    await stack.stop()


class Output:
    """A child's stdout read on a thread, so that every wait on it is bounded."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        self.lines: queue.Queue[str | None] = queue.Queue()
        self.seen: list[str] = []
        self._thread = threading.Thread(target=self._pump, args=(process.stdout,), daemon=True)
        self._thread.start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.put(line)
        self.lines.put(None)

    def until(self, done: Callable[[str], bool], timeout_s: float = 40) -> str:
        """Everything read up to and including the first line `done` accepts."""
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no such line within {timeout_s} s; read: {''.join(self.seen)!r}") from None
            if line is None:
                raise AssertionError(f"the output ended first; read: {''.join(self.seen)!r}")
            self.seen.append(line)
            if done(line):
                return "".join(self.seen)

    def rest(self, timeout_s: float = 15) -> str:
        """What the child printed until it closed its stdout."""
        self._thread.join(timeout_s)
        assert not self._thread.is_alive(), f"stdout still open after {timeout_s} s"
        while (line := self.lines.get_nowait()) is not None:
            self.seen.append(line)
        return "".join(self.seen)


def kill_if_running(process: subprocess.Popen[str]) -> None:
    """A failed assertion must not leave the child (and its stack) behind: its whole group goes."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_a_killed_parent_leaves_nothing_behind(sig: signal.Signals) -> None:
    parent = subprocess.Popen(
        [sys.executable, "-c", START_AND_WAIT], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        info = StackInfo.from_json(Output(parent).until(lambda line: line.startswith("{")))
        assert all(alive(pid) for pid in info.pids.values())
        parent.send_signal(sig)
        parent.wait(10)
        gone(info)
    finally:
        kill_if_running(parent)


def test_serve_stops_cleanly_on_ctrl_c() -> None:
    serve = subprocess.Popen(
        [sys.executable, "-m", "realtime_verify.cli", "serve"],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        output = Output(serve)
        text = output.until(lambda line: line.startswith("Press Ctrl-C"))
        assert "https://app.test:" in text
        assert "--host-resolver-rules=MAP app.test 127.0.0.1" in text
        pids = [int(part.split()[1]) for part in text.split("pids", 1)[1].splitlines()[0].split(",")]
        assert pids
        assert all(alive(pid) for pid in pids)
        workdir = Path(text.split("CA file", 1)[1].split()[0]).parent
        os.killpg(serve.pid, signal.SIGINT)
        assert serve.wait(15) == 0
        assert "stopped; nothing left running" in output.rest()
        assert not any(alive(pid) for pid in pids)
        assert not workdir.exists()
    finally:
        kill_if_running(serve)


async def test_a_child_that_dies_is_reported_with_its_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "nginx"
    fake.write_text("#!/bin/sh\necho 'nginx: [emerg] simulated failure for the test' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:{os.environ['PATH']}")
    with pytest.raises(TargetUnreachable, match="simulated failure for the test") as raised:
        async with EmbeddedStack(StackConfig()):
            pass
    message = str(raised.value)
    assert "nginx exited with code 1" in message
    workdir = Path(re.search(r"the end of (\S+)/nginx.log", message).group(1))  # type: ignore[union-attr]
    assert not workdir.exists(), "the temp folder of a failed start must be removed"
