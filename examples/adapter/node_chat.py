"""An app adapter of your own: for when the target profile cannot say how your app works.

This one is for tests/fixtures/apps/node-chat (the classic socket.io chat shape). Its profile
already gets it to a PASSED verdict; the adapter shows the two things a team most often needs code
for, written against the app's own signals:

- "connected" is when the page greets the user ("Welcome to Socket.IO Chat"), not when a socket
  opened: the page is usable only after its `login` event;
- a message's text is its body alone, without the sender's name the page prints before it.

Use it either way:

    # in the profile
    [app]
    adapter = "examples.adapter.node_chat:NodeChatAdapter"

    # or in a conftest.py next to your copy of the suite (the pytest way)
    import pytest
    from examples.adapter.node_chat import NodeChatAdapter

    @pytest.fixture(scope="session")
    def rv_adapter(rv_target):
        return NodeChatAdapter(rv_target)

Everything not overridden comes from the profile (`ContractAdapter`).
"""

from __future__ import annotations

from playwright.async_api import TimeoutError as PlaywrightTimeout

from realtime_verify.adapter import ContractAdapter
from realtime_verify.errors import WaitTimeout
from realtime_verify.pages import AppPage, diagnose_page

WELCOME = "li.log:has-text('Welcome to Socket.IO Chat')"


class NodeChatAdapter(ContractAdapter):
    """node-chat: connected once greeted; a message's text is its body."""

    async def wait_connected(self, page: AppPage, timeout_s: float) -> None:
        try:
            await page.page.locator(WELCOME).first.wait_for(state="attached", timeout=timeout_s * 1000)
        except PlaywrightTimeout:
            why = await diagnose_page(page, await self.status_text(page))
            raise WaitTimeout(f"{page.name}: no welcome within {timeout_s:g} s: {why}", fix=why.fix) from None
        # Greeted means logged in; the socket itself must be up too (a reconnect greets nobody).
        await super().wait_connected(page, timeout_s)

    async def chat_texts(self, page: AppPage) -> list[str]:
        bodies = await page.page.locator("li.message .messageBody").all_text_contents()
        return [body.strip() for body in bodies]
