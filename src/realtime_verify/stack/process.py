"""Child processes of the embedded stack: started with their output in a log file, stopped by PID.

Each child gets SIGTERM when the process that started it dies (Linux's PR_SET_PDEATHSIG), so nothing
outlives the run, not even after a SIGKILL of the supervisor.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import signal
import socket
import sys
from pathlib import Path

from realtime_verify.errors import TargetUnreachable

logger = logging.getLogger("realtime_verify.stack")

STOP_TIMEOUT_S = 5.0


def die_with_parent(signum: int = signal.SIGTERM) -> None:
    """In the child, before exec: get `signum` when the process that started us dies (Linux)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signum)  # PR_SET_PDEATHSIG


def die_hard_with_parent() -> None:
    """SIGKILL when the parent dies: for a child that may be frozen (SIGSTOP), which would keep a
    SIGTERM pending forever."""
    die_with_parent(signal.SIGKILL)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Child:
    """A child process whose output goes to a log file; stopped by PID."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path, *, freezable: bool = False) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.log = log
        self.freezable = freezable  # a fault may SIGSTOP it: it dies by SIGKILL with its parent
        self.process: asyncio.subprocess.Process | None = None
        self.expected_exit = False

    async def start(self) -> None:
        self.expected_exit = False
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                *self.argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=self.env,
                preexec_fn=die_hard_with_parent if self.freezable else die_with_parent,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        return self.process.pid if self.process else 0

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def stop(self) -> None:
        process = self.process
        if process is None or process.returncode is not None:
            return
        self.expected_exit = True
        with contextlib.suppress(ProcessLookupError):
            process.send_signal(signal.SIGCONT)  # a frozen process holds SIGTERM pending forever
            process.terminate()
        try:
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            logger.warning("%s (pid %d) ignored SIGTERM; killing it", self.name, process.pid)
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def died(self) -> TargetUnreachable:
        code = self.process.returncode if self.process else None
        return TargetUnreachable(
            "stack",
            f"{self.name} exited with code {code}; the end of {self.log}:\n{self.log_tail()}",
        )
