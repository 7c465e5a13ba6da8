"""One check's pages and watchers, opened through the app adapter, closed (with artifacts) at the end.

    session = AppSession(...)
    a = await session.page("a")            # a new browser context, logged in as user a, connected
    a, b = await session.open_pages("a", "b")  # two at once (each logs in and connects while the other waits)
    a, b = await session.shared_pages("a", "b")  # the same, or the pages an earlier check left connected
    w = await session.watcher("c")         # a python-socketio client, logged in as user c
    ...
    await session.close(failed=True)       # screenshots, traces, console and frame logs, then close

Pages are named for messages ("page A", "page A2"); the first page that cannot connect is
remembered for the run, so later checks fail at once instead of waiting again for the same cause.
Opening a page (a context, the app, a login, a socket) is most of a smoke run's time, so checks that
only observe share their pages through the run (`shared_pages`).
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from playwright.async_api import Browser, BrowserContext
from playwright.async_api import Error as PlaywrightError

from realtime_verify.adapter import AppAdapter, WatcherLogin
from realtime_verify.artifacts import ArtifactSettings, save_page_artifacts
from realtime_verify.browser import instrumentation_script
from realtime_verify.errors import RealtimeVerifyError, WaitTimeout
from realtime_verify.faults.browser import SocketCutter
from realtime_verify.metrics import Markers
from realtime_verify.net import NetworkOptions
from realtime_verify.pages import AppPage
from realtime_verify.reporting.redact import Redactor
from realtime_verify.target import Target
from realtime_verify.watcher import Watcher

KEPT_PAGE_CONNECT_S = 2.0  # a kept page that is not connected by then is replaced, not waited for


@dataclass
class RunMemory:
    """What checks share within a run: the first page that could not connect, and why; the logged-in
    pages a passing check left for the next one (by role)."""

    page_connect_failure: WaitTimeout | None = None
    kept: dict[str, tuple[BrowserContext, AppPage]] = field(default_factory=dict)


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
    # The pages (and the URL each was at) left to the next check if this one passes.
    to_keep: list[tuple[AppPage, str]] = field(default_factory=list)

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

    async def open_pages(self, *roles: str, names: Sequence[str] = (), cut: bool = False) -> list[AppPage]:
        """A page for each of `roles` (named `names`, if given), opened concurrently: most of an open
        is waiting on the app."""
        opens = (self.page(role, names[i] if i < len(names) else None, cut=cut) for i, role in enumerate(roles))
        opened = await asyncio.gather(*opens, return_exceptions=True)
        for result in opened:  # every open has finished (none left running into close()); the first error wins
            if isinstance(result, BaseException):
                raise result
        return [page for page in opened if isinstance(page, AppPage)]

    async def shared_pages(self, *roles: str, keep: bool = True) -> list[AppPage]:
        """Logged-in, connected pages for `roles`: those an earlier check left, else new ones.

        For checks that only observe (they neither navigate nor break anything): the next such check
        uses the same pages instead of opening and logging in its own. With `keep=False` this check
        takes them for good and they close with it (it navigates, to a chat say). The pages of a
        check that failed close with it, so no later check inherits what went wrong. When traces or
        videos are recorded each check opens its own: those artifacts are per check.
        """
        if self.artifacts.tracing != "off" or self.artifacts.video != "off":
            return await self.open_pages(*roles)
        found: dict[str, AppPage] = {}
        for role in roles:
            kept = self.memory.kept.pop(role, None)
            if kept is None:
                continue
            context, page = kept
            if await self._still_connected(page):
                self.pages.append(kept)
                found[role] = page
            else:  # dropped since (a later check's fault?): a new page, rather than judging a stale one
                with contextlib.suppress(Exception):
                    await context.close()
        missing = [role for role in roles if role not in found]
        found |= dict(zip(missing, await self.open_pages(*missing), strict=True))
        if keep:
            # Kept only if still where it was lent: an adapter that navigated (to an order's page, say)
            # would hand the next check a page it does not expect.
            self.to_keep += [(page, page.page.url) for page in found.values()]
        return [found[role] for role in roles]

    async def _still_connected(self, page: AppPage) -> bool:
        if page.page.is_closed():
            return False
        try:
            await self.adapter.wait_connected(page, KEPT_PAGE_CONNECT_S)
        # Not connected, or a custom adapter's own way of saying so: a new page either way.
        except (RealtimeVerifyError, PlaywrightError, AssertionError, TimeoutError):
            return False
        return True

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
            if (app, app.page.url) in self.to_keep and not failed:
                self.memory.kept[app.role] = (context, app)
                continue
            with contextlib.suppress(Exception):
                await context.close()
        for watcher in self.watchers:
            with contextlib.suppress(Exception):
                await watcher.close()
        return saved


def slug(text: str) -> str:
    """A file-name-safe form of a test or page name."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:80]
