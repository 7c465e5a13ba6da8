"""Page objects driven by the selector contract of the target profile (`[ui]`)."""

from __future__ import annotations

from playwright.async_api import Page
from playwright.async_api import TimeoutError as PlaywrightTimeout

from realtime_verify.browser import Instrumentation
from realtime_verify.checks.realtime import diagnose_connection
from realtime_verify.config import Credentials, Profile
from realtime_verify.errors import WaitTimeout


class AppPage:
    """One browser page of the app: login, chat, orders, the connection badge."""

    def __init__(self, page: Page, profile: Profile, name: str) -> None:
        self.page = page
        self.profile = profile
        self.ui = profile.ui
        self.name = name
        self.rv = Instrumentation(page, name)
        self.console: list[str] = []
        page.on("console", lambda message: self.console.append(f"{message.type}: {message.text}"))
        page.on("pageerror", lambda error: self.console.append(f"pageerror: {error}"))

    async def open(self, url: str) -> None:
        await self.page.goto(url, wait_until="domcontentloaded")

    async def login(self, credentials: Credentials) -> None:
        """Log in through the page's form (auth.page_login = form)."""
        ui = self.ui
        await self.page.fill(ui.login_username, credentials.username)
        await self.page.fill(ui.login_password, credentials.password)
        await self.page.click(ui.login_submit)

    async def status_text(self) -> str:
        badge = self.page.locator(self.ui.connection_status)
        if await badge.count() == 0:
            return "(no connection status element)"
        text = (await badge.first.text_content() or "").strip()
        title = await badge.first.get_attribute("title")
        return f"{text} ({title})" if title and title not in text else text

    async def wait_connected(self, timeout_s: float) -> None:
        """Wait for the connected badge; on timeout, say what the page's socket did instead."""
        try:
            await self.page.wait_for_selector(self.ui.connected, state="attached", timeout=timeout_s * 1000)
        except PlaywrightTimeout:
            diagnosis = diagnose_connection(await self.rv.snapshot(), await self.status_text(), self.console)
            raise WaitTimeout(f"{self.name}: the page did not connect within {timeout_s:g} s: {diagnosis}") from None

    # Chat ----------------------------------------------------------------------------------------

    async def open_conversation(self, peer_username: str) -> None:
        await self.page.select_option(self.ui.conversation_select, label=peer_username)

    async def send_chat(self, text: str) -> None:
        """Type and send; latency is measured in the page, so the click's own cost does not count."""
        await self.page.fill(self.ui.chat_input, text)
        await self.page.dispatch_event(self.ui.chat_send, "click")

    async def chat_texts(self) -> list[str]:
        return [t.strip() for t in await self.page.locator(self.ui.chat_message).all_text_contents()]

    # Orders --------------------------------------------------------------------------------------

    async def advance_order(self, marker: str) -> None:
        row = self.page.locator(self.ui.order_row, has_text=marker)
        await row.locator(self.ui.order_advance).dispatch_event("click")
