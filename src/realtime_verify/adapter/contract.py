"""The default adapter: the app described by its target profile ([app], [auth], [ui], [events], [items]).

With the profile's defaults it is the reference app's contract (`data-testid` selectors, token login,
direct chat, orders); an app shaped differently says so in the profile: a nickname or a login form
with a cookie, room or broadcast chat, other event names and payload shapes, send with Enter, tasks
instead of orders, no connection badge.

One class on purpose: a team that subclasses it sees every operation it may override in one file.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Locator
from playwright.async_api import TimeoutError as PlaywrightTimeout

from realtime_verify.adapter.base import AppAdapter, Item, ItemUpdate, TestUser, WatcherLogin
from realtime_verify.adapter.capabilities import Capabilities
from realtime_verify.config import Profile, fill_template, get_path
from realtime_verify.errors import ConfigError, RealtimeVerifyError, WaitTimeout
from realtime_verify.pages import AppPage, diagnose_page
from realtime_verify.target import ApiClient, Credentials, Session, Target
from realtime_verify.watcher import Watcher

REQUIRED_ROLES = ("a", "b")
INPUT_CLEAR_WAIT_MS = 2000
KEY_RECHECK_S = 0.5  # after an action on an element timed out: one short look, to name the missing [ui] key
# Resolves true once the element's value is empty (an element without a value counts as empty),
# false after `ms`: polled in the page, every 5 ms, so the wait costs one round trip to the browser.
INPUT_CLEARED_JS = """(e, ms) => new Promise((resolve) => {
    const end = performance.now() + ms;
    const poll = () => (!e.value ? resolve(true) : performance.now() > end ? resolve(false) : setTimeout(poll, 5));
    poll();
})"""
ROW_REMOVED_FIX = (
    "the page's list reload or resync (a GET of the whole list) raced the item's update event: a list read"
    " before the change arrived after it and dropped the row; keep rows changed since the request started"
    " (by revision or a change counter) instead of removing every row the answer lacks"
)


class ContractAdapter(AppAdapter):
    """An app as its target profile describes it."""

    def __init__(self, target: Target) -> None:
        super().__init__(target)
        self.profile: Profile = target.profile
        self._capabilities = Capabilities.from_profile(self.profile)
        self._users: dict[str, TestUser] = {}
        self._sessions: dict[str, Session] = {}
        self._clients: dict[str, ApiClient] = {}
        self._lock = asyncio.Lock()
        # Nicknames are unique per run, so two runs against one chat never mistake each other.
        self._nick_suffix = secrets.token_hex(3)
        self._input_clears: bool | None = None  # does the page clear its chat input after a send?

    @property
    def capabilities(self) -> Capabilities:
        return self._capabilities

    # Users ---------------------------------------------------------------------------------------

    def has_user(self, role: str) -> bool:
        try:
            self.user(role)
        except ConfigError:
            return False
        return True

    def user(self, role: str) -> TestUser:
        if role not in self._users:
            self._users[role] = self._find_user(role)
        return self._users[role]

    def _find_user(self, role: str) -> TestUser:
        mode = self.profile.auth.mode
        if mode in ("nickname", "none"):
            return TestUser(role, f"qa_{role}_{self._nick_suffix}")
        provided = self.target.provided_users.get(role)
        if provided is not None:
            return TestUser(role, provided.username, provided.password)
        prefix = self.profile.auth.users.get(role)
        if prefix is None:
            raise ConfigError(f'auth.users has no user {role!r}; add it, e.g. {role} = "RV_USER_{role.upper()}"')
        env = os.environ
        if mode == "storage_state":
            state = env.get(f"{prefix}_STORAGE_STATE", "")
            if not state:
                raise ConfigError(
                    f"user {role} needs {prefix}_STORAGE_STATE: the path of a Playwright storage state file"
                    " (auth.mode = storage_state)"
                )
            if not Path(state).is_file():
                raise ConfigError(f"{prefix}_STORAGE_STATE names {state!r}, which is not a file")
            return TestUser(role, env.get(prefix) or role, storage_state=state)
        missing = [name for name in (prefix, f"{prefix}_PASSWORD") if not env.get(name)]
        if missing:
            raise ConfigError(
                f"user {role} needs the environment variable(s) {', '.join(missing)}"
                f" (auth.users.{role} = {prefix!r}: {prefix} holds the username, {prefix}_PASSWORD the password)"
            )
        return TestUser(role, env[prefix], env[f"{prefix}_PASSWORD"])

    async def prepare(self) -> None:
        for role in REQUIRED_ROLES:
            self.user(role)  # a ConfigError naming the missing env vars
        if self.profile.auth.mode in ("api", "form"):
            for role in REQUIRED_ROLES:
                await self.session(role)  # a wrong account ends the run here, naming it

    async def session(self, role: str) -> Session:
        """User `role` logged in through the API or the login form (cached for the run)."""
        async with self._lock:
            if role not in self._sessions:
                user = self.user(role)
                if self.profile.auth.mode == "storage_state":
                    self._sessions[role] = Session(role, cookie=_storage_state_cookie(user, self.target.base_url))
                elif self.profile.auth.mode in ("api", "form"):
                    assert user.password is not None
                    async with self.target.api() as api:
                        self._sessions[role] = await api.login(role, Credentials(user.name, user.password))
                else:
                    self._sessions[role] = Session(role)
            return self._sessions[role]

    async def api(self, role: str) -> ApiClient:
        """User `role`'s HTTP client, kept open for the run: a new TLS connection per request would
        count its handshake into every latency measured from an API call."""
        if role not in self._clients:
            client = self.target.api(await self.session(role))
            self._clients[role] = await client.__aenter__()
        return self._clients[role]

    async def close(self) -> None:
        for client in self._clients.values():
            await client.__aexit__(None, None, None)
        self._clients.clear()

    async def user_id(self, role: str) -> Any:
        if self.profile.auth.mode in ("nickname", "none"):
            return None
        return (await self.session(role)).user_id

    def secrets(self) -> list[str]:
        values = [user.password for user in self._users.values() if user.password]
        for session in self._sessions.values():
            values += [value for value in (session.token, session.cookie) if value]
            if session.cookie:
                values += [part.partition("=")[2] for part in session.cookie.split("; ")]
        return values

    # Pages ---------------------------------------------------------------------------------------

    def context_options(self, user: TestUser) -> dict[str, Any]:
        return {"storage_state": user.storage_state} if user.storage_state else {}

    async def open(self, page: AppPage, user: TestUser, timeout_s: float) -> None:
        try:
            await page.page.goto(self.target.base_url, wait_until="domcontentloaded", timeout=timeout_s * 1000)
        except PlaywrightTimeout:
            raise WaitTimeout(
                f"{page.name}: {self.target.base_url} did not load within {timeout_s:g} s (target.connect_timeout_s)"
            ) from None
        except PlaywrightError as error:
            raise WaitTimeout(f"{page.name}: cannot open {self.target.base_url}: {_first_line(error)}") from None
        mode = self.profile.auth.mode
        if mode in ("api", "form"):
            await self._fill(page, "login_username", user.name, timeout_s)
            assert user.password is not None
            await self._fill(page, "login_password", user.password, timeout_s)
            await self._submit(page, "login_password", timeout_s)
        elif mode == "nickname":
            await self._fill(page, "login_username", user.name, timeout_s)
            await self._submit(page, "login_username", timeout_s)

    async def _fill(self, page: AppPage, key: str, value: str, timeout_s: float) -> None:
        await self._act(page, key, timeout_s, lambda field: field.fill(value, timeout=timeout_s * 1000))

    async def _submit(self, page: AppPage, last_field: str, timeout_s: float) -> None:
        if self.profile.ui.login_submit:
            await self._act(page, "login_submit", timeout_s, lambda button: button.click(timeout=timeout_s * 1000))
        else:
            await self._act(page, last_field, timeout_s, lambda field: field.press("Enter", timeout=timeout_s * 1000))

    async def _act(
        self, page: AppPage, key: str, timeout_s: float, action: Callable[[Locator], Awaitable[None]]
    ) -> None:
        """`action` on the first element `[ui] key` selects, which Playwright waits for (one round trip
        to the browser: every page of a run logs in this way). When it fails, the key's own error."""
        before = page.page.url
        try:
            await action(self._selected(page, key)[0].first)
        except PlaywrightError as error:
            if page.page.url != before:  # the action worked and started a navigation that did not finish
                raise WaitTimeout(
                    f"{page.name}: after [ui] {key}, the page moved on to {page.page.url} and did not finish"
                    f" loading within {timeout_s:g} s: {_first_line(error)}"
                ) from None
            await self._find(page, key, KEY_RECHECK_S, waited_s=timeout_s)  # no element, or a bad selector
            raise

    def _selected(self, page: AppPage, key: str) -> tuple[Locator, str, str]:
        """The locator of `[ui] key` (or `[items] key`), its selector and its section."""
        selector = getattr(self.profile.ui, key, None)
        section = "ui"
        if selector is None:
            selector, section = getattr(self.profile.items, key), "items"
        if not selector:
            raise ConfigError(f"{section}.{key} is empty, but {page.name} needs it")
        try:
            return page.page.locator(selector), selector, section
        except PlaywrightError as error:
            raise _selector_error(section, key, selector, error) from None

    async def _find(
        self,
        page: AppPage,
        key: str,
        timeout_s: float,
        *,
        has_text: str | None = None,
        waited_s: float | None = None,
    ) -> Locator:
        """The first element `[ui] key` selects, once visible; a ConfigError naming the key if none is."""
        locator, selector, section = self._selected(page, key)
        if has_text is not None:
            locator = locator.filter(has_text=has_text)
        try:
            await locator.first.wait_for(state="visible", timeout=timeout_s * 1000)
        except PlaywrightTimeout:
            shown = f" with text {has_text!r}" if has_text else ""
            raise ConfigError(
                f"{section}.{key} = {selector!r}{shown} matched no visible element on {page.name} within"
                f" {waited_s or timeout_s:g} s: set [{section}] {key} to the app's element (Playwright selector"
                f" syntax: CSS, text=..., role=...), or check that the page rendered ({await page.page.title()!r})"
            ) from None
        except PlaywrightError as error:
            raise _selector_error(section, key, selector, error) from None
        return locator.first

    async def wait_connected(self, page: AppPage, timeout_s: float) -> None:
        selector = self.profile.ui.connected
        if selector:
            try:
                await page.page.wait_for_selector(selector, state="attached", timeout=timeout_s * 1000)
                return
            except PlaywrightTimeout:
                pass
        elif await page.rv.wait_connected(timeout_s):
            return
        diagnosis = await diagnose_page(page, await self.status_text(page))
        raise WaitTimeout(
            f"{page.name}: the page did not connect within {timeout_s:g} s: {diagnosis}", fix=diagnosis.fix
        )

    async def status_text(self, page: AppPage) -> str:
        selector = self.profile.ui.connection_status
        if not selector:
            return ""
        badge = page.page.locator(selector)
        try:
            if await badge.count() == 0:
                return "(no connection status element)"
            text = (await badge.first.text_content(timeout=2000) or "").strip()
            title = await badge.first.get_attribute("title", timeout=2000)
        except PlaywrightError:
            return ""
        return f"{text} ({title})" if title and title not in text else text

    async def open_chat(self, page: AppPage, peer: TestUser) -> None:
        chat = self.profile.app.chat
        if chat == "broadcast":
            return
        label = peer.name if chat == "direct" else self.profile.app.room
        if not label:
            raise ConfigError("app.chat = 'room' needs app.room: the room both pages join")
        timeout = self.profile.target.connect_timeout_s
        element = await self._find(page, "conversation_select", timeout)
        if await element.evaluate("e => e.tagName") == "SELECT":
            try:
                await element.select_option(label=label, timeout=timeout * 1000)
            except PlaywrightTimeout:
                raise ConfigError(
                    f"ui.conversation_select on {page.name} has no option {label!r}"
                    + (" (the peer's name)" if chat == "direct" else " (app.room)")
                ) from None
        else:
            target = await self._find(page, "conversation_select", timeout, has_text=label)
            await target.click(timeout=timeout * 1000)

    async def send_chat(self, page: AppPage, text: str) -> None:
        # Latency is measured in the page, so how long Playwright's action takes does not count.
        ui, timeout = self.profile.ui, self.profile.target.connect_timeout_s
        field = await self._found_once(page, "chat_input", timeout)
        await self._on_found(page, "chat_input", timeout, field.fill(text, timeout=timeout * 1000))
        if ui.chat_send:
            # Looked up after typing: many pages show their send button only once there is text.
            button = await self._found_once(page, "chat_send", timeout)
            await self._on_found(page, "chat_send", timeout, button.dispatch_event("click", timeout=timeout * 1000))
        else:
            await self._on_found(page, "chat_input", timeout, field.press(ui.send_key, timeout=timeout * 1000))
        await self._wait_taken(page, field)

    async def _found_once(self, page: AppPage, key: str, timeout_s: float) -> Locator:
        """`_find` the first time a page needs `[ui] key`; the same locator afterwards (it re-resolves
        at every action, so a re-rendered element is found again)."""
        if key not in page.found:
            page.found[key] = await self._find(page, key, timeout_s)
        return page.found[key]

    async def _on_found(self, page: AppPage, key: str, timeout_s: float, action: Awaitable[None]) -> None:
        """An action on an element this page showed before: if it is gone now, the app took it away
        (a reconnect banner, a re-render), which is the check's failure, not the profile's."""
        try:
            await action
        except PlaywrightTimeout:
            raise WaitTimeout(
                f"{page.name}: [ui] {key} was on the page before and was gone or not usable for"
                f" {timeout_s:g} s (did the page replace its chat form?)"
            ) from None

    async def _wait_taken(self, page: AppPage, field: Locator) -> None:
        """Wait until the page took the message: most chat pages clear their input once the server
        acknowledged it, and text typed before that would be cleared with it. A page that keeps its
        input is learnt once (one short wait) and not waited for again."""
        if self._input_clears is False:
            return
        try:
            # One round trip: the page itself polls its input (a handle, then a wait, would be two).
            cleared = await field.evaluate(INPUT_CLEARED_JS, INPUT_CLEAR_WAIT_MS, timeout=INPUT_CLEAR_WAIT_MS)
        except PlaywrightError:
            cleared = False
        if cleared:
            self._input_clears = True
        elif self._input_clears is None:
            self._input_clears = False

    async def chat_texts(self, page: AppPage) -> list[str]:
        return [t.strip() for t in await page.page.locator(self.profile.ui.chat_message).all_text_contents()]

    async def advance_item(self, page: AppPage, item: Item) -> bool:
        items, timeout = self.profile.items, self.profile.target.connect_timeout_s
        if not items.advance:
            return False
        try:
            row = await self._find(page, "row", timeout, has_text=item.title)
        except ConfigError:
            # Shown, then gone: the app took the row away, which no selector explains.
            if await page.rv.removed_after_render(item.title):
                raise WaitTimeout(
                    f"{page.name} removed the row of item {item.title!r} after rendering it"
                    " (a list reload replaced it?)",
                    fix=ROW_REMOVED_FIX,
                ) from None
            raise
        button = row.locator(items.advance)
        try:
            await button.first.dispatch_event("click", timeout=timeout * 1000)
        except PlaywrightTimeout:
            raise ConfigError(
                f"items.advance = {items.advance!r} matched nothing inside the row of {item.title!r} on {page.name}"
            ) from None
        return True

    # Watcher -------------------------------------------------------------------------------------

    async def watcher_login(self, user: TestUser) -> WatcherLogin:
        mode = self.profile.auth.mode
        if mode in ("nickname", "none"):
            return WatcherLogin()
        session = await self.session(user.role)
        if session.token:
            return WatcherLogin(auth={self.profile.auth.socket_auth_key: session.token})
        return WatcherLogin(headers=session.headers())

    async def forged_login(self) -> WatcherLogin:
        if self.profile.auth.mode in ("api", "nickname", "none"):
            return WatcherLogin(auth={self.profile.auth.socket_auth_key: "forged.realtime-verify.token"})
        # The real session cookie's names, with values the server never issued.
        real = (await self.session("a")).cookie or "session=x"
        forged = "; ".join(f"{part.partition('=')[0]}=forged.realtime-verify" for part in real.split("; "))
        return WatcherLogin(headers={"Cookie": forged})

    async def after_connect(self, watcher: Watcher, user: TestUser) -> None:
        events = self.profile.events
        if events.join:
            payload = fill_template(events.join_payload or '""', self._values(user, None, ""), "events.join_payload")
            if events.join_ack:
                await watcher.emit(events.join, payload, timeout_s=self.profile.target.connect_timeout_s)
            else:
                await watcher.send(events.join, payload)

    def _values(self, sender: TestUser, peer_id: Any, text: str) -> dict[str, Any]:
        return {"text": text, "peer_id": peer_id, "room": self.profile.app.room, "nickname": sender.name}

    async def chat_emit(self, sender: TestUser, peer: TestUser, text: str) -> tuple[str, Any]:
        events = self.profile.events
        peer_id = await self.user_id(peer.role) if "{peer_id}" in events.chat_payload else None
        if "{peer_id}" in events.chat_payload and peer_id is None:
            raise ConfigError(
                "events.chat_payload addresses {peer_id}, but the login answer gives no user id"
                " (auth.user_id_field, auth.me_path)"
            )
        payload = fill_template(events.chat_payload, self._values(sender, peer_id, text), "events.chat_payload")
        return events.chat_send, payload

    def chat_text(self, event: str, data: Any) -> str | None:
        events = self.profile.events
        if event != events.chat_received:
            return None
        text = get_path(data, events.chat_text_path)
        return text if isinstance(text, str) else None

    def chat_sender(self, data: Any) -> Any:
        path = self.profile.events.chat_sender_path
        return get_path(data, path) if path else None

    def spoofed_chat(self, payload: Any, claimed_sender: Any) -> Any:
        if not isinstance(payload, dict):
            return payload
        return _set_path(json.loads(json.dumps(payload)), self.profile.events.chat_sender_path, claimed_sender)

    # Items ---------------------------------------------------------------------------------------

    async def create_item(self, user: TestUser, title: str) -> Item:
        items = self.profile.items
        body = fill_template(items.create_payload, {"title": title}, "items.create_payload")
        answer = await (await self.api(user.role)).request("POST", items.create, body)
        item_id = get_path(answer, items.created_id_path)
        if item_id is None:
            raise ConfigError(
                f"POST {items.create} answered without an id at items.created_id_path"
                f" {items.created_id_path!r}: {str(answer)[:200]}"
            )
        return Item(item_id, title)

    async def update_item(self, user: TestUser, item: Item, status: Any) -> None:
        items = self.profile.items
        body = fill_template(items.update_payload, {"status": status}, "items.update_payload")
        await (await self.api(user.role)).request("PATCH", items.update.format(id=item.id), body)

    async def delete_item(self, user: TestUser, item: Item) -> None:
        items = self.profile.items
        if not items.delete:
            return
        api = await self.api(user.role)
        await api.request("DELETE", items.delete.format(id=item.id), expect=(200, 202, 204, 404))

    def item_statuses(self) -> list[Any]:
        return list(self.profile.items.statuses)

    def item_event(self, event: str, data: Any) -> ItemUpdate | None:
        items = self.profile.items
        if event != items.event:
            return None
        return ItemUpdate(get_path(data, items.id_path), get_path(data, items.status_path))

    def is_item_event(self, event: str) -> bool:
        return event == self.profile.items.event

    # Cleanup -------------------------------------------------------------------------------------

    async def remove_chat(self, marker_prefix: str) -> int | None:
        path = self.profile.cleanup.chat
        if not path or self.profile.auth.mode not in ("api", "form"):
            return None
        removed = 0
        for role in list(self._sessions):
            try:
                api = await self.api(role)
                answer = await api.request("DELETE", path.format(marker=quote(marker_prefix)))
            except RealtimeVerifyError:
                continue  # best effort: the data stays marked with the run id
            removed += int(answer.get("deleted", 0)) if isinstance(answer, dict) else 0
        return removed


def _selector_error(section: str, key: str, selector: str, error: PlaywrightError) -> Exception:
    """A selector Playwright cannot parse is the profile's fault; anything else (the page closed
    under the check, the run being interrupted) is not, and is passed on as it is."""
    text = _first_line(error)
    if "selector" in text.lower() or "unexpected token" in text.lower():
        return ConfigError(f"{section}.{key} = {selector!r} is not a valid selector: {text}")
    return error


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _set_path(data: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    parts = [part for part in path.split(".") if part] or ["sender_id"]
    node = data
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = {}
            node[part] = child
        node = child
    node[parts[-1]] = value
    return data


def _storage_state_cookie(user: TestUser, base_url: str) -> str:
    """The `Cookie:` header a browser with `user`'s storage state sends to the target."""
    assert user.storage_state is not None
    try:
        state = json.loads(Path(user.storage_state).read_text())
    except (OSError, ValueError) as error:
        raise ConfigError(f"cannot read the storage state {user.storage_state!r}: {error}") from None
    host = urlsplit(base_url).hostname or ""
    cookies = [
        f"{c['name']}={c['value']}"
        for c in state.get("cookies", [])
        if host == str(c.get("domain", "")).lstrip(".") or host.endswith("." + str(c.get("domain", "")).lstrip("."))
    ]
    return "; ".join(cookies)
