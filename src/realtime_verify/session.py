"""One check's pages and watchers, opened through the app adapter, closed (with artifacts) at the end.

    session = AppSession(...)
    a = await session.page("a")            # a new browser context, logged in as user a, connected
    a, b = await session.open_pages("a", "b")  # two at once (each logs in and connects while the other waits)
    w = await session.watcher("c")         # a python-socketio client, logged in as user c
    ...
    await session.close(failed=True)       # screenshots, traces, console and frame logs, then close

Pages are named for messages ("page A", "page A2"); the first page that cannot connect is
remembered for the run, so later checks fail at once instead of waiting again for the same cause.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from dataclasses import dataclass, field
from pathlib import Path

from playwright.async_api import Browser, BrowserContext

from realtime_verify.adapter import AppAdapter, WatcherLogin
from realtime_verify.artifacts import ArtifactSettings, save_page_artifacts
from realtime_verify.browser import instrumentation_script
from realtime_verify.errors import WaitTimeout
from realtime_verify.faults.browser import SocketCutter
from realtime_verify.metrics import Markers
from realtime_verify.net import NetworkOptions
from realtime_verify.pages import AppPage
from realtime_verify.reporting.redact import Redactor
from realtime_verify.target import Target
from realtime_verify.watcher import Watcher


@dataclass
class RunMemory:
    """What checks share within a run: the first page that could not connect, and why."""

    page_connect_failure: WaitTimeout | None = None


@dataclass
class AppSession:
    """The pages and watchers of one check."""

    browser: Browser
    target: Target
    adapter: AppAdapter
    markers: Markers
    redactor: Redactor
    artifacts: ArtifactSettings
    folder: Path
    memory: RunMemory = field(default_factory=RunMemory)
    pages: list[tuple[BrowserContext, AppPage]] = field(default_factory=list)
    watchers: list[Watcher] = field(default_factory=list)

    @property
    def timeout_s(self) -> float:
        return self.target.profile.target.connect_timeout_s

    async def page(self, role: str, name: str | None = None, *, connect: bool = True, cut: bool = False) -> AppPage:
        """A new context and page, logged in as user `role`, connected (unless `connect` is False).

        `cut`: route the page's socket through a `SocketCutter` (`page.cutter`) for fault checks.
        """
        if self.memory.page_connect_failure:
            failure = self.memory.page_connect_failure
            raise WaitTimeout(f"skipped the wait, an earlier page could not connect either: {failure}", fix=failure.fix)
        user = self.adapter.user(role)
        video = str(self.folder / "video") if self.artifacts.video != "off" else None
        context = await self.browser.new_context(record_video_dir=video, **self.adapter.context_options(user))
        socket_path = self.target.profile.socket_path
        await context.add_init_script(instrumentation_script(socket_path, rf"{re.escape(self.markers.prefix)}\d+"))
        cutter = None
        if cut:
            cutter = SocketCutter(context, socket_path)
            await cutter.install()  # before the page loads: the client captures WebSocket at load
        app = AppPage(await context.new_page(), role, name or f"page {role.upper()}", cutter)
        self.pages.append((context, app))
        try:
            await self.adapter.open(app, user, self.timeout_s)
        except WaitTimeout as error:
            self.memory.page_connect_failure = error  # the next check fails at once, for the same cause
            raise
        # Traces start after the login, so a password typed into the form never enters them.
        if self.artifacts.tracing != "off":
            await context.tracing.start(screenshots=True, snapshots=True)
        if connect:
            try:
                await self.adapter.wait_connected(app, self.timeout_s)
            except WaitTimeout as error:
                self.memory.page_connect_failure = error
                raise
        return app

    async def open_pages(self, *roles: str, cut: bool = False) -> list[AppPage]:
        """A page for each of `roles`, opened concurrently: most of an open is waiting on the app."""
        opened = await asyncio.gather(*(self.page(role, cut=cut) for role in roles), return_exceptions=True)
        for result in opened:  # every open has finished (none left running into close()); the first error wins
            if isinstance(result, BaseException):
                raise result
        return [page for page in opened if isinstance(page, AppPage)]

    async def tab(self, page: AppPage, name: str, *, connect: bool = True) -> AppPage:
        """Another tab of `page`'s browser context (same profile, same service worker), logged in."""
        context = page.page.context
        tab = AppPage(await context.new_page(), page.role, name, page.cutter)
        self.pages.append((context, tab))
        await self.adapter.open(tab, self.adapter.user(page.role), self.timeout_s)
        if connect:
            await self.adapter.wait_connected(tab, self.timeout_s)
        return tab

    async def watcher(
        self,
        role: str | None = "a",
        *,
        login: WatcherLogin | None = None,
        transports: list[str] | None = None,
        connect: bool = True,
        name: str | None = None,
        reconnect: bool = False,
        network: NetworkOptions | None = None,
        base_url: str | None = None,
    ) -> Watcher:
        """A python-socketio client; logged in as user `role` unless `login` says otherwise."""
        user = self.adapter.user(role) if role is not None else None
        if login is None:
            login = await self.adapter.watcher_login(user) if user is not None else WatcherLogin()
        profile = self.target.profile
        watcher = Watcher(
            name or (f"{role}" if role else "anonymous"),
            base_url or profile.socket_base,
            profile.socket_path,
            network or self.target.network,
            auth=login.auth,
            headers=login.headers,
            transports=transports,
            reconnect=reconnect,
        )
        self.watchers.append(watcher)
        if connect:
            await watcher.connect(self.timeout_s)
            if user is not None:
                await self.adapter.after_connect(watcher, user)
        return watcher

    async def close(self, *, failed: bool) -> list[str]:
        """Save what a person needs to see (on failure, or as asked), then close everything."""
        saved: list[str] = []
        for index, (context, app) in enumerate(self.pages):
            folder = self.folder / f"{index}-{slug(app.name)}"
            saved += await save_page_artifacts(context, app, folder, self.artifacts, self.redactor, failed=failed)
            with contextlib.suppress(Exception):
                await context.close()
        for watcher in self.watchers:
            with contextlib.suppress(Exception):
                await watcher.close()
        return saved


def slug(text: str) -> str:
    """A file-name-safe form of a test or page name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:80]
