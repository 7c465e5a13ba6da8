"""The harness's view of one browser page: its Playwright page, its name, its instrumentation, its console.

What a page *does* (log in, chat, advance an order) is the app adapter's business; this is what the
suite itself reads from any page, whatever the app.
"""

from __future__ import annotations

from playwright.async_api import Locator, Page

from realtime_verify.browser import Instrumentation
from realtime_verify.checks.realtime import Diagnosis, diagnose_connection
from realtime_verify.faults.browser import SocketCutter

MAX_CONSOLE_LINES = 2000


class AppPage:
    """One page of the app as user `role` sees it, named for messages ("page A")."""

    def __init__(self, page: Page, role: str, name: str, cutter: SocketCutter | None = None) -> None:
        self.page = page
        self.role = role
        self.name = name
        self.cutter = cutter  # the page's socket routed for fault checks (None: not routed)
        self.rv = Instrumentation(page, name)
        self.console: list[str] = []
        # Elements an adapter found on this page, by key: the chat check sends 60 messages, and a
        # lookup is a round trip to the browser each time (a locator re-resolves at every action anyway).
        self.found: dict[str, Locator] = {}
        page.on("console", lambda message: self._log(f"{message.type}: {message.text}"))
        page.on("pageerror", lambda error: self._log(f"pageerror: {error}"))

    def _log(self, line: str) -> None:
        self.console.append(line)
        del self.console[:-MAX_CONSOLE_LINES]


async def diagnose_page(page: AppPage, status_text: str) -> Diagnosis:
    """Why the page's socket is not (or not properly) connected: a sentence (str()) and its fix."""
    return diagnose_connection(await page.rv.snapshot(), status_text, page.console)
