"""The app adapter interface: every operation the checks need from an app, in one typed class.

The suite meets an app only here. `ContractAdapter` (contract.py) implements it from the target
profile; a team whose app the profile cannot describe subclasses it (or this class) in its own
repository and names it in the profile (`[app] adapter = "package.module:Class"`), or overrides the
`rv_adapter` fixture in a conftest.py.

Page operations take an `AppPage` (the harness's wrapper of a Playwright page: `.page`, `.name`,
`.rv` for the in-page instrumentation). Watcher operations build what a python-socketio client
emits and recognise what it receives. Every wait is bounded by the timeout it is given.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from realtime_verify.adapter.capabilities import Capabilities

if TYPE_CHECKING:
    from realtime_verify.pages import AppPage
    from realtime_verify.target import Target
    from realtime_verify.watcher import Watcher


@dataclass(frozen=True)
class TestUser:
    """A user the suite acts as: role a, b or c, and the name the app shows for it."""

    __test__ = False  # not a pytest test class

    role: str
    name: str
    password: str | None = field(default=None, repr=False)
    storage_state: str | None = None  # a Playwright storage state file (auth.mode = storage_state)


@dataclass(frozen=True)
class WatcherLogin:
    """How a python-socketio watcher authenticates as a user: the `auth` payload and HTTP headers."""

    auth: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Item:
    """A shared item the suite created (an order, a task), to update and delete it."""

    id: Any
    title: str


@dataclass(frozen=True)
class ItemUpdate:
    """An item update as an event carries it."""

    id: Any
    status: Any


class AppAdapter(ABC):
    """The operations the checks need from an app. Subclass `ContractAdapter` to change a few.

    Constructed with the prepared `Target` (its profile, network, base URL and HTTP API).
    """

    def __init__(self, target: Target) -> None:
        self.target = target

    @property
    @abstractmethod
    def capabilities(self) -> Capabilities:
        """What the app has; checks whose needs it lacks are skipped, with the reason."""

    # Users ---------------------------------------------------------------------------------------

    @abstractmethod
    def has_user(self, role: str) -> bool:
        """Whether the suite can act as user `role` (a and b always; c is optional)."""

    @abstractmethod
    def user(self, role: str) -> TestUser:
        """User `role`; a ConfigError naming what to configure when there is none."""

    async def prepare(self) -> None:  # noqa: B027 - optional hook
        """Called once before any check: log the users in, so wrong accounts end the run at once."""

    async def user_id(self, role: str) -> Any:
        """The id the app addresses user `role` by (direct chat), or None when it has none."""
        return None

    def secrets(self) -> list[str]:
        """Every secret value this adapter holds (passwords, tokens, cookies): never printed."""
        return []

    # Pages ---------------------------------------------------------------------------------------

    def context_options(self, user: TestUser) -> dict[str, Any]:
        """Extra options for the browser context of `user` (a storage state, for example)."""
        return {}

    @abstractmethod
    async def open(self, page: AppPage, user: TestUser, timeout_s: float) -> None:
        """Navigate to the app and log `user` in; return once the login is submitted."""

    @abstractmethod
    async def wait_connected(self, page: AppPage, timeout_s: float) -> None:
        """Wait until the page's real-time connection is up; WaitTimeout saying why when it is not."""

    async def status_text(self, page: AppPage) -> str:
        """What the page says about its connection, for messages ("" when it says nothing)."""
        return ""

    @abstractmethod
    async def open_chat(self, page: AppPage, peer: TestUser) -> None:
        """Show the conversation with `peer` (direct), join the room (room), or nothing (broadcast).

        It may navigate: a page a chat was opened on is not lent to a later check. Every other
        operation must leave the page usable by the next check (the checks that only observe share
        one logged-in pair of pages)."""

    @abstractmethod
    async def send_chat(self, page: AppPage, text: str) -> None:
        """Type `text` and send it, the way a user does (click or key)."""

    @abstractmethod
    async def chat_texts(self, page: AppPage) -> list[str]:
        """The chat messages the page shows, in order, one text each."""

    async def advance_item(self, page: AppPage, item: Item) -> bool:
        """Move `item` to its next status from the page's UI; False when the UI cannot."""
        return False

    # Watcher -------------------------------------------------------------------------------------

    @abstractmethod
    async def watcher_login(self, user: TestUser) -> WatcherLogin:
        """How a watcher connects as `user`."""

    async def forged_login(self) -> WatcherLogin:
        """Credentials shaped like real ones but not valid."""
        return WatcherLogin()

    async def after_connect(self, watcher: Watcher, user: TestUser) -> None:  # noqa: B027 - optional hook
        """What a client does once connected before it can chat (join a room, say its nickname)."""

    @abstractmethod
    async def chat_emit(self, sender: TestUser, peer: TestUser, text: str) -> tuple[str, Any]:
        """The event name and payload a client emits to send `text` to `peer` (or the room)."""

    @abstractmethod
    def chat_text(self, event: str, data: Any) -> str | None:
        """The text of a received chat event, or None when the event is not a chat message."""

    def chat_sender(self, data: Any) -> Any:
        """Who a received chat message says sent it (None when messages do not say)."""
        return None

    async def sender_of(self, user: TestUser) -> Any:
        """The sender received messages name for `user`: its id when the app has one, else its name."""
        user_id = await self.user_id(user.role)
        return user_id if user_id is not None else user.name

    def spoofed_chat(self, payload: Any, claimed_sender: Any) -> Any:
        """`payload` claiming to come from `claimed_sender` (a spoofing attempt)."""
        return payload

    # Items ---------------------------------------------------------------------------------------

    async def create_item(self, user: TestUser, title: str) -> Item:
        raise NotImplementedError

    async def update_item(self, user: TestUser, item: Item, status: Any) -> None:
        raise NotImplementedError

    async def delete_item(self, user: TestUser, item: Item) -> None:
        raise NotImplementedError

    def item_statuses(self) -> list[Any]:
        return []

    def item_event(self, event: str, data: Any) -> ItemUpdate | None:
        """An item update carried by a received event, or None."""
        return None

    def is_item_event(self, event: str) -> bool:
        """Whether events of this name carry item updates."""
        return False

    # Cleanup -------------------------------------------------------------------------------------

    async def remove_chat(self, marker_prefix: str) -> int | None:
        """Delete the chat messages the run sent; None when the app offers no way to."""
        return None

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release what the adapter holds (HTTP clients), at the end of the run."""
