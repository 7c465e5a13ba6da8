"""The embedded stack: the reference app behind real nginx and the edge emulator, on loopback.

    async with EmbeddedStack(StackConfig(faults=("no-broadcast",))) as stack:
        stack.info.base_url            # https://app.test:<port>
        await stack.drop_all("rst")    # fault controls, while connections are open
        await stack.restart_backend()  # a deploy

The stack runs in a supervisor process (`python -m realtime_verify.stack.supervisor`) that owns every
child (uvicorn, nginx) and the temp folder. It stops them all, by PID, when told to, on SIGTERM or
SIGINT, and when its stdin closes, which is what happens when this process dies, even by SIGKILL.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import sys
from types import TracebackType
from typing import Any

import aiohttp

from realtime_verify.errors import SetupError, TargetUnreachable
from realtime_verify.stack.settings import READY_PREFIX, StackConfig, StackInfo

START_TIMEOUT_S = 30.0


class EmbeddedStack:
    """Starts the supervisor process and talks to its control API."""

    def __init__(self, config: StackConfig | None = None) -> None:
        self.config = config or StackConfig()
        self._process: asyncio.subprocess.Process | None = None
        self._session: aiohttp.ClientSession | None = None
        self._info: StackInfo | None = None
        self._stderr: list[str] = []

    @property
    def info(self) -> StackInfo:
        if self._info is None:
            raise RuntimeError("the stack is not started")
        return self._info

    async def __aenter__(self) -> EmbeddedStack:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> StackInfo:
        from realtime_verify.stack.supervisor import sweep_orphans

        sweep_orphans()  # what an earlier run killed with SIGKILL left behind
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "realtime_verify.stack.supervisor",
            self.config.to_json(),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            # Its own session: a Ctrl-C in the terminal reaches us, and we stop it in order.
            start_new_session=True,
        )
        stderr_task = asyncio.create_task(self._collect_stderr())
        try:
            self._info = await asyncio.wait_for(self._read_ready(), START_TIMEOUT_S)
        except TimeoutError:
            await self.stop()
            raise TargetUnreachable(
                "stack",
                f"the embedded stack did not start within {START_TIMEOUT_S:g} s" + self._stderr_tail(),
            ) from None
        except BaseException:
            await self.stop()
            raise
        finally:
            if self._info is None:
                stderr_task.cancel()
        self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
        return self._info

    async def _read_ready(self) -> StackInfo:
        assert self._process is not None
        assert self._process.stdout is not None
        while True:
            line = await self._process.stdout.readline()
            if not line:
                await self._process.wait()
                # Give the stderr reader a moment to drain what the supervisor printed last.
                await asyncio.sleep(0.05)
                code = self._process.returncode
                tail = self._stderr_tail()
                if code == 2:
                    raise SetupError(tail.strip() or "the embedded stack could not start")
                raise TargetUnreachable("stack", f"the embedded stack exited with code {code} while starting{tail}")
            text = line.decode(errors="replace").rstrip("\n")
            if text.startswith(READY_PREFIX):
                return StackInfo.from_json(text[len(READY_PREFIX) :])

    async def _collect_stderr(self) -> None:
        assert self._process is not None
        assert self._process.stderr is not None
        async for line in self._process.stderr:
            self._stderr.append(line.decode(errors="replace").rstrip("\n"))
            del self._stderr[:-200]

    def _stderr_tail(self, lines: int = 25) -> str:
        if not self._stderr:
            return ""
        return "\n" + "\n".join(self._stderr[-lines:])

    async def stop(self) -> None:
        """Stop the supervisor; it stops its children and removes its temp folder."""
        if self._session is not None:
            await self._session.close()
            self._session = None
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        # Closing stdin is the supervisor's normal signal to stop.
        if process.stdin is not None:
            process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), 15)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
        # A supervisor that died hard left its folder: the one who survives removes it.
        if self._info is not None:
            shutil.rmtree(self._info.workdir, ignore_errors=True)

    # Control API ---------------------------------------------------------------------------------

    async def _call(self, path: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        if self._session is None:
            raise RuntimeError("the stack is not started")
        async with self._session.post(self.info.control_url + path, json=payload or {}) as resp:
            data: dict[str, Any] = await resp.json()
            if resp.status != 200:
                raise TargetUnreachable("stack", f"stack control {path} failed: {data.get('error')}")
            return data

    async def status(self) -> dict[str, Any]:
        return await self._call("/status")

    async def drop_all(self, mode: str = "fin") -> int:
        """Close every connection at the edge (FIN or RST); returns how many were open."""
        return int((await self._call("/edge/drop", {"mode": mode}))["dropped"])

    async def refuse_for(self, seconds: float) -> None:
        await self._call("/edge/refuse", {"seconds": seconds})

    async def blackhole_for(self, seconds: float) -> None:
        await self._call("/edge/blackhole", {"seconds": seconds})

    async def resume(self) -> None:
        await self._call("/edge/resume")

    async def set_edge(self, **behaviour: Any) -> None:
        """Change edge behaviour: challenge_socket, cache_socket, cloudflare_headers, latency_ms, idle_timeout_s."""
        await self._call("/edge/behaviour", behaviour)

    async def reset_edge(self) -> None:
        await self._call("/edge/reset")

    async def restart_backend(self, app_version: str | None = None) -> None:
        """A deploy of the app: stop it, start it again (optionally as a new version), wait ready."""
        await self._call("/backend/restart", {"app_version": app_version})

    async def pause_backend(self, seconds: float) -> None:
        """Freeze the app for `seconds` (SIGSTOP, then SIGCONT): its pings come late, nothing is lost."""
        await self._call("/backend/pause", {"seconds": seconds})

    async def pause_backend_between(self, start: float, until: float) -> float | None:
        """Freeze the app from the epoch time `start` to `until` (this machine's clock, which the stack
        shares), however long this call takes to arrive. Returns `start`, None if it had passed."""
        starts_at = (await self._call("/backend/pause", {"start": start, "until": until}))["starts_at"]
        return None if starts_at is None else float(starts_at)

    async def restart_nginx(self) -> None:
        """A restart of nginx (SIGTERM, then start again): every proxied socket drops."""
        await self._call("/nginx/restart")
