"""Pages shared between checks (`AppSession.shared_pages`), and the chat elements found once per page,
on the embedded stack with real Chromium."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser

from realtime_verify.adapter import ContractAdapter
from realtime_verify.artifacts import ArtifactSettings
from realtime_verify.errors import ConfigError, WaitTimeout
from realtime_verify.metrics import Markers
from realtime_verify.pages import AppPage
from realtime_verify.reporting.redact import Redactor
from realtime_verify.session import AppSession, RunMemory
from realtime_verify.target import Target

pytestmark = pytest.mark.asyncio(loop_scope="session")

CHAT_FORM = """
<input data-testid="chat-input"><button data-testid="chat-send" hidden>send</button>
<script>
  window.sent = [];
  // The send button shows only once there is text, as on many chat pages.
  document.querySelector('[data-testid="chat-input"]').addEventListener("input", (event) => {
    document.querySelector('[data-testid="chat-send"]').hidden = !event.target.value;
  });
  document.querySelector('[data-testid="chat-send"]').addEventListener("click", () => {
    window.sent.push(document.querySelector('[data-testid="chat-input"]').value);
    document.querySelector('[data-testid="chat-input"]').value = "";  // taken, as a chat page does
    document.querySelector('[data-testid="chat-send"]').hidden = true;
  });
</script>
"""


def new_session(
    browser: Browser, target: Target, adapter: ContractAdapter, memory: RunMemory, tmp_path: Path, **artifacts: str
) -> AppSession:
    return AppSession(
        browser=browser,
        target=target,
        adapter=adapter,
        markers=Markers("shared"),
        redactor=Redactor(),
        artifacts=ArtifactSettings(**artifacts),
        folder=tmp_path,
        memory=memory,
    )


async def test_a_passing_check_leaves_its_pages_to_the_next_and_a_failing_one_closes_them(
    browser: Browser, target: Target, tmp_path: Path
) -> None:
    adapter, memory = ContractAdapter(target), RunMemory()
    first = new_session(browser, target, adapter, memory, tmp_path)
    a, b = await first.shared_pages("a", "b")
    await first.close(failed=False)
    assert set(memory.kept) == {"a", "b"}
    assert not a.page.is_closed()

    second = new_session(browser, target, adapter, memory, tmp_path)
    assert await second.shared_pages("a", "b") == [a, b]  # the same pages, no new login
    assert memory.kept == {}  # lent, not shared by two checks at once
    await second.close(failed=True)
    assert a.page.is_closed()
    assert b.page.is_closed()
    assert memory.kept == {}

    third = new_session(browser, target, adapter, memory, tmp_path)
    fresh_a, fresh_b = await third.shared_pages("a", "b", keep=False)
    assert fresh_a is not a
    assert fresh_b is not b
    await third.close(failed=False)
    assert fresh_a.page.is_closed()
    assert memory.kept == {}
    await adapter.close()


async def test_a_kept_page_that_closed_is_replaced_and_traces_get_pages_of_their_own(
    browser: Browser, target: Target, tmp_path: Path
) -> None:
    adapter, memory = ContractAdapter(target), RunMemory()
    first = new_session(browser, target, adapter, memory, tmp_path)
    (a,) = await first.shared_pages("a")
    await first.close(failed=False)
    await a.page.close()

    second = new_session(browser, target, adapter, memory, tmp_path)
    (replaced,) = await second.shared_pages("a")
    assert replaced is not a
    assert not replaced.page.is_closed()
    await second.close(failed=False)

    traced = new_session(browser, target, adapter, memory, tmp_path, tracing="on")
    (own,) = await traced.shared_pages("a")
    assert own is not replaced  # a trace is per check: not a page an earlier check used
    await traced.close(failed=False)
    assert own.page.is_closed()
    assert memory.kept["a"][1] is replaced
    await adapter.close()


async def test_a_page_that_moved_elsewhere_is_not_lent_again(browser: Browser, target: Target, tmp_path: Path) -> None:
    adapter, memory = ContractAdapter(target), RunMemory()
    first = new_session(browser, target, adapter, memory, tmp_path)
    (a,) = await first.shared_pages("a")
    await a.page.evaluate("history.pushState({}, '', '/elsewhere')")  # as an adapter that navigated would
    await first.close(failed=False)
    assert memory.kept == {}
    assert a.page.is_closed()
    await adapter.close()


async def test_chat_elements_found_once_follow_a_re_render_and_a_vanished_input_fails_naming_its_key(
    browser: Browser, target: Target
) -> None:
    section = target.profile.target.model_copy(update={"connect_timeout_s": 1.0})
    profile = target.profile.model_copy(update={"target": section})
    adapter = ContractAdapter(Target(profile, target.network, target.handshake, None, target.provided_users))
    context = await browser.new_context()
    page = AppPage(await context.new_page(), "a", "page A")
    await page.page.set_content(CHAT_FORM)
    for text in ("one", "two"):
        await adapter.send_chat(page, text)
    assert await page.page.evaluate("window.sent") == ["one", "two"]
    # The page re-renders its form: the same keys still find the new elements.
    await page.page.set_content(CHAT_FORM)
    await adapter.send_chat(page, "three")
    assert await page.page.evaluate("window.sent") == ["three"]
    await page.page.set_content("<p>no chat here</p>")
    # Gone after it was there: the app took it away, a failure of the check, not of the profile.
    with pytest.raises(WaitTimeout, match=r"page A: \[ui\] chat_input was on the page before and was gone"):
        await adapter.send_chat(page, "four")
    await context.close()
    await adapter.close()


@pytest.mark.parametrize(
    ("selector", "error"),
    [
        ("#no-such-field", r"ui\.login_username = '#no-such-field' matched no visible element on page A within 1 s"),
        ("input[[", r"ui\.login_username = 'input\[\[' is not a valid selector"),
    ],
)
async def test_a_login_field_the_profile_misnames_is_a_config_error_naming_its_key(
    browser: Browser, target: Target, selector: str, error: str
) -> None:
    ui = target.profile.ui.model_copy(update={"login_username": selector})
    profile = target.profile.model_copy(update={"ui": ui})
    adapter = ContractAdapter(Target(profile, target.network, target.handshake, None, target.provided_users))
    context = await browser.new_context(**adapter.context_options(adapter.user("a")))
    page = AppPage(await context.new_page(), "a", "page A")
    with pytest.raises(ConfigError, match=error):
        await adapter.open(page, adapter.user("a"), 1.0)
    await context.close()
    await adapter.close()
