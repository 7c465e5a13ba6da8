"""What the page instrumentation (instrument.js) tells about a page, in a real Chromium with no app behind it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from playwright.async_api import Browser, Page, Route

from realtime_verify.browser import Instrumentation, instrumentation_script

URL = "http://rv.test/"  # answered by the route below: nothing is resolved or fetched
HTML = "<ul id='list'></ul><p id='other'></p>"


@pytest_asyncio.fixture(loop_scope="session")
async def page(plain_browser: Browser) -> AsyncIterator[Page]:
    context = await plain_browser.new_context()
    try:
        await context.add_init_script(instrumentation_script("/socket.io/"))
        opened = await context.new_page()

        async def serve(route: Route) -> None:
            await route.fulfill(content_type="text/html", body=HTML)

        await opened.route(URL, serve)
        await opened.goto(URL)
        yield opened
    finally:
        await context.close()


async def test_a_marker_the_page_rendered_then_removed_is_told_from_one_it_still_shows(page: Page) -> None:
    rv = Instrumentation(page, "page A")
    title = "[realtime-verify] rv-ab12-7 item"
    assert not await rv.removed_after_render(title), "never rendered: nothing was removed"
    await page.evaluate(
        "(t) => { const row = document.createElement('li'); row.textContent = t; list.append(row); }", title
    )
    await rv.wait_rendered("rv-ab12-7", 5)
    assert not await rv.removed_after_render(title), "rendered and still there"
    await page.evaluate("() => list.replaceChildren()")
    assert await rv.removed_after_render(title), "rendered, then the list was replaced without it"
    await page.evaluate("() => { other.textContent = 'moved: rv-ab12-7'; }")
    assert not await rv.removed_after_render(title), "still on the page, elsewhere: a selector matter, not removed"
