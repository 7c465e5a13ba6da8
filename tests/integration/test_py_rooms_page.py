"""py-rooms' page in a real Chromium: a task list that answers late never undoes a change shown meanwhile.

The page loads its whole task list on connect (and after a reconnect). The server reads that list
while the request is in flight, so a change the page shows before the answer arrives may be newer.
Here the answer is held (the server has already read the list) until such a change has been shown,
then delivered. "barrier task" is shown by that list alone: once its row is there the list has been
applied (the page applies a list in one go), a barrier rather than a pause.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest_asyncio
from playwright.async_api import Browser, Page, Route

from tests.fixtures.apps.launch import RunningApp, alaunched

WAIT_S = 10.0


@pytest_asyncio.fixture(loop_scope="session")
async def app() -> AsyncIterator[RunningApp]:
    async with alaunched("py-rooms") as running:  # a fresh app per test: an empty task list
        yield running


@dataclass
class HeldList:
    """Page A, signed in, whose first `GET /api/tasks` the server has answered and the test holds."""

    page: Page
    api: httpx.AsyncClient  # signed in as another user
    release: asyncio.Event  # set: the held answer is delivered


@pytest_asyncio.fixture(loop_scope="session")
async def held(app: RunningApp, plain_browser: Browser) -> AsyncIterator[HeldList]:
    async with httpx.AsyncClient(base_url=app.base_url, timeout=WAIT_S) as api:
        await api.post("/login", data={"email": "ben@example.test", "password": "ben-pw"})
        for title in ("barrier task", "listed task"):
            await api.post("/api/tasks", json={"title": title})
        context = await plain_browser.new_context()
        page = await context.new_page()
        answered, release = asyncio.Event(), asyncio.Event()

        async def hold(route: Route) -> None:
            if route.request.method != "GET":
                await route.continue_()
                return
            response = await route.fetch()  # the server reads the list now
            answered.set()
            await release.wait()
            await route.fulfill(response=response)

        await page.route("**/api/tasks", hold)
        await page.goto(f"{app.base_url}/login")
        await page.fill("input[name=email]", "ann@example.test")
        await page.fill("input[name=password]", "ann-pw")
        await page.click("button:has-text('Sign in')")
        await asyncio.wait_for(answered.wait(), WAIT_S)
        try:
            yield HeldList(page, api, release)
        finally:
            release.set()
            await context.close()


async def deliver_the_list(held: HeldList) -> None:
    held.release.set()
    await held.page.wait_for_selector("tr.task:has-text('barrier task')", timeout=WAIT_S * 1000)


async def test_a_task_created_while_the_list_loads_keeps_its_row(held: HeldList) -> None:
    await held.api.post("/api/tasks", json={"title": "created meanwhile"})
    row = held.page.locator("tr.task", has_text="created meanwhile")
    await row.wait_for(timeout=WAIT_S * 1000)  # shown from its task_changed event
    await deliver_the_list(held)  # a list read before the task existed
    assert await row.count() == 1


async def test_a_task_deleted_while_the_list_loads_stays_deleted(held: HeldList) -> None:
    listed = next(t for t in (await held.api.get("/api/tasks")).json()["tasks"] if t["title"] == "listed task")
    row = held.page.locator("tr.task", has_text="listed task")
    await held.api.patch(f"/api/tasks/{listed['id']}", json={"state": "doing"})
    await row.wait_for(timeout=WAIT_S * 1000)  # shown from its task_changed event
    await held.api.delete(f"/api/tasks/{listed['id']}")
    await row.wait_for(state="detached", timeout=WAIT_S * 1000)  # removed by its "deleted" event
    await deliver_the_list(held)  # a list read while the task still existed
    assert await row.count() == 0
