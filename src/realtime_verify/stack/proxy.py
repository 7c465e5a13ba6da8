"""Real nginx in the foreground, in front of one upstream, from a site conf with its ports rewritten.

The embedded stack runs the reference conf this way; the tests put the same real nginx in front of
the foreign-shaped apps. Everything nginx writes (pid, logs, temp files) stays under its own folder.

    proxy = NginxProxy(conf, ("127.0.0.1", app_port), folder, socket_path="/socket.io/")
    port = await proxy.start()      # nginx answers on 127.0.0.1:port
    proxy.site_conf                 # the conf it runs, for the audit
    await proxy.restart()           # SIGTERM, start again: every proxied socket drops
    await proxy.stop()
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterable
from pathlib import Path

import aiohttp

from realtime_verify.errors import TargetUnreachable
from realtime_verify.stack.nginx import find_nginx, render_app_conf, render_main_conf
from realtime_verify.stack.process import Child, free_port

READY_TIMEOUT_S = 20.0


class NginxProxy:
    """One nginx process serving `site_conf` (an http-context file with `listen` and an `upstream`)."""

    def __init__(
        self,
        template: Path,
        upstream: tuple[str, int],
        folder: Path,
        *,
        socket_path: str = "/socket.io/",
        read_timeout_s: float = 120.0,
        ping_interval_s: float = 25.0,
        ping_timeout_s: float = 20.0,
        edits: Iterable[str] = (),
    ) -> None:
        self.template = template
        self.upstream = upstream
        self.folder = folder
        self.socket_path = socket_path
        self.read_timeout_s = read_timeout_s
        self.ping = (ping_interval_s, ping_timeout_s)
        self.edits = tuple(edits)
        self.port = 0
        self.site_conf = folder / "app.conf"
        self.child: Child | None = None

    async def start(self) -> int:
        """Render the confs, start nginx, wait until it answers; returns its port."""
        self.port = free_port()
        self.site_conf.write_text(
            render_app_conf(
                self.template,
                listen_port=self.port,
                upstream=self.upstream,
                read_timeout_s=self.read_timeout_s,
                ping_interval_s=self.ping[0],
                ping_timeout_s=self.ping[1],
                socket_path=self.socket_path,
                edits=self.edits,
            )
        )
        (self.folder / "temp").mkdir(exist_ok=True)
        main_conf = self.folder / "nginx.conf"
        main_conf.write_text(render_main_conf(self.folder, self.site_conf))
        argv = [find_nginx(), "-p", str(self.folder), "-c", str(main_conf), "-e", str(self.folder / "error.log")]
        self.child = Child("nginx", argv, dict(os.environ), self.folder / "nginx.log")
        await self.child.start()
        await self.wait_ready()
        return self.port

    async def wait_ready(self, path: str = "/") -> None:
        """Until nginx answers any HTTP status on its port; fail at once if it exits."""
        assert self.child is not None
        deadline = time.monotonic() + READY_TIMEOUT_S
        last = "no answer yet"
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as session:
            while time.monotonic() < deadline:
                if not self.child.alive:
                    raise self.child.died()
                try:
                    async with session.get(f"http://127.0.0.1:{self.port}{path}", allow_redirects=False):
                        return
                except (aiohttp.ClientError, OSError, TimeoutError) as error:
                    last = str(error) or type(error).__name__
                await asyncio.sleep(0.02)  # a readiness poll, bounded by the deadline
        raise TargetUnreachable(
            "stack", f"nginx did not answer on port {self.port} within {READY_TIMEOUT_S:g} s ({last})"
        )

    @property
    def pid(self) -> int:
        return self.child.pid if self.child else 0

    async def restart(self) -> None:
        """SIGTERM and start again: every proxied socket drops, as in a restart during a deploy."""
        assert self.child is not None
        await self.child.stop()
        await self.child.start()
        await self.wait_ready()

    async def stop(self) -> None:
        if self.child is not None:
            await self.child.stop()
