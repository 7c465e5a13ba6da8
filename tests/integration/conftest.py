"""The embedded stack and a Chromium for testing the stack itself (not through the plugin).

One stack per test module, started with the faults the module names in `STACK_FAULTS` (none: a
healthy stack). Pages are opened and logged in through the contract adapter, as the suite does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from urllib.parse import urlsplit

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Response, async_playwright

from realtime_verify.adapter import ContractAdapter
from realtime_verify.browser import find_chromium, instrumentation_script, launch_chromium
from realtime_verify.config import load_profile
from realtime_verify.net import NetworkOptions
from realtime_verify.pages import AppPage
from realtime_verify.stack import EmbeddedStack, StackConfig
from realtime_verify.target import EMBEDDED_USERS, Credentials, Target, embedded_profile, preflight
from realtime_verify.watcher import Watcher

OpenPage = Callable[..., Awaitable[AppPage]]
TIMEOUT_S = 10.0
STATUS = '[data-testid="connection-status"]'


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stack(request: pytest.FixtureRequest) -> AsyncIterator[EmbeddedStack]:
    faults = tuple(getattr(request.module, "STACK_FAULTS", ()))
    async with EmbeddedStack(StackConfig(faults=faults)) as started:
        yield started


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def target(stack: EmbeddedStack) -> Target:
    """The started stack as the suite sees it (the stack itself stays the `stack` fixture's to stop)."""
    info = stack.info
    profile = embedded_profile(load_profile(env={}), info)
    handshake = await preflight(profile, info.network)
    users = {role: Credentials(name, info.users[name]) for role, name in EMBEDDED_USERS}
    return Target(profile, info.network, handshake, None, users)


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def browser(stack: EmbeddedStack) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await launch_chromium(playwright, find_chromium(playwright), stack.info.network)
        yield chromium
        await chromium.close()


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def plain_browser() -> AsyncIterator[Browser]:
    """A Chromium with the default network options, for pages that need no embedded stack."""
    async with async_playwright() as playwright:
        chromium = await launch_chromium(playwright, find_chromium(playwright), NetworkOptions())
        yield chromium
        await chromium.close()


@pytest_asyncio.fixture(loop_scope="session")
async def open_page(target: Target, browser: Browser) -> AsyncIterator[OpenPage]:
    """Factory: a page of the stack's app, logged in as user `role` (connected unless told not to wait)."""
    adapter = ContractAdapter(target)
    contexts = []

    async def open_page(role: str = "a", *, wait: bool = True) -> AppPage:
        context = await browser.new_context()
        contexts.append(context)
        await context.add_init_script(instrumentation_script(target.profile.socket_path))
        page = AppPage(await context.new_page(), role, f"page {role.upper()}")
        await adapter.open(page, adapter.user(role), TIMEOUT_S)
        if wait:
            await adapter.wait_connected(page, TIMEOUT_S)
        return page

    yield open_page
    for context in contexts:
        await context.close()
    await adapter.close()


@pytest_asyncio.fixture(loop_scope="session")
async def watcher(target: Target) -> AsyncIterator[Callable[..., Awaitable[Watcher]]]:
    """Factory: a Socket.IO client logged in as user `role`, over WebSocket; all are closed after."""
    adapter = ContractAdapter(target)
    made: list[Watcher] = []

    async def connect(role: str = "a") -> Watcher:
        login = await adapter.watcher_login(adapter.user(role))
        client = Watcher(
            role,
            target.profile.socket_base,
            target.profile.socket_path,
            target.network,
            auth=login.auth,
            headers=login.headers,
            transports=["websocket"],
        )
        made.append(client)
        await client.connect(TIMEOUT_S)
        return client

    yield connect
    for client in made:
        await client.close()
    await adapter.close()


async def wait_badge(page: AppPage, state: str, transport: str | None = None, timeout_s: float = TIMEOUT_S) -> None:
    """Wait until the page's connection badge says `state` (and `transport`)."""
    selector = f'{STATUS}[data-state="{state}"]' + (f'[data-transport="{transport}"]' if transport else "")
    await page.page.wait_for_selector(selector, state="attached", timeout=timeout_s * 1000)


async def socket_responses_after_reload(page: AppPage) -> list[Response]:
    """Once the service worker controls the page, reload it: the responses to its socket requests.

    The page's socket.io client starts on long-polling (plain HTTP requests a service worker can
    answer) before it upgrades; a WebSocket itself never goes through a service worker.
    """
    await page.page.wait_for_function("() => navigator.serviceWorker.controller !== null", timeout=TIMEOUT_S * 1000)
    responses: list[Response] = []
    path = await page.page.evaluate("() => window.__rvConfig.socketPath")
    page.page.on("response", lambda r: responses.append(r) if urlsplit(r.url).path.startswith(path) else None)
    await page.page.reload(wait_until="domcontentloaded")
    await wait_badge(page, "connected", "websocket")
    return responses
