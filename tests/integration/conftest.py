"""The embedded stack and a Chromium for testing the stack itself (not through the plugin)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable

import pytest_asyncio
from playwright.async_api import Browser, async_playwright

from realtime_verify.browser import find_chromium, instrumentation_script, launch_chromium
from realtime_verify.config import Credentials, Profile
from realtime_verify.pages import AppPage
from realtime_verify.stack import EmbeddedStack, StackConfig

OpenPage = Callable[..., Awaitable[AppPage]]


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def stack() -> AsyncIterator[EmbeddedStack]:
    async with EmbeddedStack(StackConfig()) as started:
        yield started


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def browser(stack: EmbeddedStack) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await launch_chromium(playwright, find_chromium(playwright), stack.info.network)
        yield chromium
        await chromium.close()


@pytest_asyncio.fixture(loop_scope="session")
async def open_page(stack: EmbeddedStack, browser: Browser) -> AsyncIterator[OpenPage]:
    """Factory: a logged-in page of the stack's app (connected unless told not to wait)."""
    contexts = []
    profile = Profile()

    async def open_page(user: str = "alice", *, wait: bool = True) -> AppPage:
        context = await browser.new_context()
        contexts.append(context)
        await context.add_init_script(instrumentation_script(profile.socket_path))
        page = AppPage(await context.new_page(), profile, f"{user}'s page")
        await page.open(stack.info.base_url)
        await page.login(Credentials(user, stack.info.users[user]))
        if wait:
            await page.wait_connected(10)
        return page

    yield open_page
    for context in contexts:
        await context.close()
