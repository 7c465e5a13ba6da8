"""The contract adapter's pure parts: payload templates, paths, users and logins, against a fake Target.

No browser and no network: the fake target's API client records what the adapter asks and answers
like the reference app does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pytest

from realtime_verify.adapter import ContractAdapter, Item, ItemUpdate, TestUser, WatcherLogin
from realtime_verify.config import load_profile
from realtime_verify.errors import ConfigError, RealtimeVerifyError, WaitTimeout
from realtime_verify.net import NetworkOptions
from realtime_verify.probes import Handshake
from realtime_verify.target import Credentials, Session, Target

IDS = {"alice": 1, "bob": 2, "carol": 3}
USERS = {"a": Credentials("alice", "pw-alice"), "b": Credentials("bob", "pw-bob")}


class FakeApi:
    """Answers like the reference app: a token and the user's id at login, the created item's id."""

    def __init__(self, target: FakeTarget, session: Session | None) -> None:
        self.target = target
        self.session = session

    async def __aenter__(self) -> FakeApi:
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.target.closed += 1

    async def login(self, role: str, credentials: Credentials) -> Session:
        self.target.calls.append(("LOGIN", credentials.username, None))
        if self.target.profile.auth.mode == "form":
            return Session(role, cookie=f"session=cookie-{credentials.username}; csrf=c", user_id=None)
        return Session(role, token=f"token-{credentials.username}", user_id=IDS[credentials.username])

    async def request(self, method: str, path: str, body: Any = None, expect: tuple[int, ...] = (200, 201)) -> Any:
        self.target.calls.append((method, path, body))
        if self.target.fail_requests:
            raise RealtimeVerifyError(f"{method} {path}: HTTP 500")
        return self.target.answers.get((method, path.split("?")[0]), {})


@dataclass
class FakeTarget(Target):
    calls: list[tuple[str, str, Any]] = field(default_factory=list)
    answers: dict[tuple[str, str], Any] = field(default_factory=dict)
    fail_requests: bool = False
    closed: int = 0

    def api(self, session: Session | None = None) -> Any:
        return FakeApi(self, session)


def target(**overrides: str) -> FakeTarget:
    profile = load_profile(env={}, overrides={"target.base_url": "https://app.example.com", **overrides})
    handshake = Handshake(f"{profile.socket_base}/socket.io/?EIO=4", 200, {}, "", None)
    return FakeTarget(profile, NetworkOptions(), handshake, provided_users=dict(USERS))


def adapter(**overrides: str) -> ContractAdapter:
    return ContractAdapter(target(**{k.replace("__", "."): v for k, v in overrides.items()}))


@dataclass
class FakeWatcher:
    sent: list[tuple[str, Any, str]] = field(default_factory=list)

    async def send(self, event: str, data: Any) -> None:
        self.sent.append((event, data, "send"))

    async def emit(self, event: str, data: Any, timeout_s: float = 5.0) -> Any:
        self.sent.append((event, data, "emit"))
        return {"ok": True}


# Received payloads -------------------------------------------------------------------------------


def test_chat_text_reads_the_chat_event_only() -> None:
    contract = adapter()
    assert contract.chat_text("chat:message", {"text": "hello rv-x-1", "sender_id": 1}) == "hello rv-x-1"
    assert contract.chat_text("orders:update", {"text": "hello"}) is None
    assert contract.chat_text("chat:message", {"text": 42}) is None
    assert contract.chat_text("chat:message", "plain") is None


def test_chat_text_follows_the_profiles_event_and_path() -> None:
    contract = adapter(events__chat_send="new message", events__chat_text_path="message")
    assert contract.chat_text("new message", {"username": "qa_a", "message": "hi"}) == "hi"
    nested = adapter(events__chat_receive="room:message", events__chat_text_path="body.text")
    assert nested.chat_text("room:message", {"body": {"text": "hi"}}) == "hi"
    assert nested.chat_text("chat:message", {"body": {"text": "hi"}}) is None, "chat_receive, not chat_send"
    whole = adapter(events__chat_text_path="")
    assert whole.chat_text("chat:message", "the payload is the text") == "the payload is the text"


def test_chat_sender_reads_the_sender_path() -> None:
    assert adapter().chat_sender({"sender_id": 7}) == 7
    assert adapter(events__chat_sender_path="author.id").chat_sender({"author": {"id": "u7"}}) == "u7"
    assert adapter(events__chat_sender_path="").chat_sender({"sender_id": 7}) is None


def test_a_spoofed_chat_claims_another_sender_without_touching_the_original() -> None:
    payload = {"to": 2, "text": "rv-x-2"}
    spoofed = adapter().spoofed_chat(payload, 2)
    assert spoofed == {"to": 2, "text": "rv-x-2", "sender_id": 2}
    assert payload == {"to": 2, "text": "rv-x-2"}
    nested = adapter(events__chat_sender_path="author.id").spoofed_chat({"text": "x", "author": "me"}, "u2")
    assert nested == {"text": "x", "author": {"id": "u2"}}
    assert adapter().spoofed_chat("plain text", 2) == "plain text"


def test_item_events_by_the_profiles_event_and_paths() -> None:
    contract = adapter()
    assert contract.item_event("orders:update", {"id": 3, "status": "ready", "title": "t"}) == ItemUpdate(3, "ready")
    assert contract.item_event("chat:message", {"id": 3}) is None
    assert contract.is_item_event("orders:update")
    assert not contract.is_item_event("tasks:update")
    tasks = adapter(items__event="task changed", items__id_path="task.id", items__status_path="task.state")
    assert tasks.item_event("task changed", {"task": {"id": "t1", "state": "done"}}) == ItemUpdate("t1", "done")
    assert tasks.item_statuses() == ["new", "accepted", "preparing", "ready", "delivered"]


# Emitted payloads --------------------------------------------------------------------------------


async def test_chat_emit_addresses_the_peer_by_its_id_from_the_login() -> None:
    contract = adapter()
    event, payload = await contract.chat_emit(contract.user("a"), contract.user("b"), 'say "hi"\nrv-x-1')
    assert event == "chat:message"
    assert payload == {"to": 2, "text": 'say "hi"\nrv-x-1'}, "the id keeps its type; the text is JSON-safe"
    assert ("LOGIN", "bob", None) in contract.target.calls  # type: ignore[attr-defined]


async def test_chat_emit_fills_room_and_nickname() -> None:
    contract = adapter(
        auth__mode="nickname",
        app__chat="room",
        app__room="lobby",
        events__chat_send="room:say",
        events__chat_payload='{"room": "{room}", "message": "{text}", "from": "{nickname}"}',
    )
    sender = contract.user("a")
    event, payload = await contract.chat_emit(sender, contract.user("b"), "rv-x-1")
    assert (event, payload) == ("room:say", {"room": "lobby", "message": "rv-x-1", "from": sender.name})
    assert contract.target.calls == [], "a nickname app needs no login"  # type: ignore[attr-defined]


async def test_chat_emit_to_a_peer_without_an_id_says_which_key_to_set() -> None:
    contract = adapter(auth__mode="nickname")
    with pytest.raises(ConfigError, match=r"addresses \{peer_id\}.*auth.user_id_field, auth.me_path"):
        await contract.chat_emit(contract.user("a"), contract.user("b"), "x")


async def test_a_broken_payload_template_is_a_config_error() -> None:
    contract = adapter(auth__mode="nickname", events__chat_payload="{text: {text}}")
    with pytest.raises(ConfigError, match=r"events\.chat_payload is not valid JSON"):
        await contract.chat_emit(contract.user("a"), contract.user("b"), "x")


async def test_a_watcher_joins_with_the_join_template() -> None:
    contract = adapter(auth__mode="nickname", events__join="add user", events__join_payload='"{nickname}"')
    watcher = FakeWatcher()
    await contract.after_connect(watcher, contract.user("a"))  # type: ignore[arg-type]
    assert watcher.sent == [("add user", contract.user("a").name, "send")]
    silent = FakeWatcher()
    await adapter().after_connect(silent, adapter().user("a"))  # type: ignore[arg-type]
    assert silent.sent == []


async def test_items_are_created_updated_and_deleted_with_the_templates() -> None:
    contract = adapter(
        items__create="/api/tasks",
        items__create_payload='{"task": {"name": "{title}"}}',
        items__created_id_path="task.id",
        items__update="/api/tasks/{id}/state",
        items__update_payload='{"state": "{status}"}',
        items__delete="/api/tasks/{id}",
    )
    fake: FakeTarget = contract.target  # type: ignore[assignment]
    fake.answers[("POST", "/api/tasks")] = {"task": {"id": 17}}
    user = contract.user("a")
    item = await contract.create_item(user, "[realtime-verify] rv-x-1")
    assert (item.id, item.title) == (17, "[realtime-verify] rv-x-1")
    await contract.update_item(user, item, "done")
    await contract.delete_item(user, item)
    requests = [call for call in fake.calls if call[0] != "LOGIN"]
    assert requests == [
        ("POST", "/api/tasks", {"task": {"name": "[realtime-verify] rv-x-1"}}),
        ("PATCH", "/api/tasks/17/state", {"state": "done"}),
        ("DELETE", "/api/tasks/17", None),
    ]
    logins_closed = fake.closed
    await contract.close()
    assert fake.closed == logins_closed + 1, "the user's one client is kept for the run, closed at its end"


async def test_a_create_answer_without_an_id_names_the_key() -> None:
    contract = adapter()
    with pytest.raises(ConfigError, match=r"items\.created_id_path 'id'"):
        await contract.create_item(contract.user("a"), "x")


@dataclass
class FakeRv:
    """A page's instrumentation, answering whether the page removed a marker it had rendered."""

    removed: bool

    async def removed_after_render(self, text: str) -> bool:
        return self.removed


@dataclass
class FakePage:
    rv: FakeRv
    name: str = "page A"


async def test_a_row_the_page_removed_after_rendering_it_is_a_failure_not_a_config_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    contract = adapter()

    async def no_row(page: Any, key: str, timeout_s: float, *, has_text: str | None = None) -> Any:
        raise ConfigError(f"items.{key} matched no visible element on {page.name}")

    monkeypatch.setattr(contract, "_find", no_row)
    item = Item(7, "[realtime-verify] rv-ab12-3 item")
    with pytest.raises(WaitTimeout, match=r"page A removed the row of item .*rv-ab12-3.* after rendering it") as gone:
        await contract.advance_item(FakePage(FakeRv(removed=True)), item)  # type: ignore[arg-type]
    assert "list reload" in gone.value.fix
    # Still on the page, just not in an element items.row selects: that is the profile's to fix.
    with pytest.raises(ConfigError, match=r"items\.row matched no visible element on page A"):
        await contract.advance_item(FakePage(FakeRv(removed=False)), item)  # type: ignore[arg-type]


# Users and logins --------------------------------------------------------------------------------


def test_users_come_from_the_target_else_from_the_env_vars_the_profile_names(monkeypatch: pytest.MonkeyPatch) -> None:
    contract = adapter()
    assert contract.user("a") == TestUser("a", "alice", "pw-alice")
    assert "pw-alice" not in repr(contract.user("a"))
    monkeypatch.delenv("RV_USER_C", raising=False)
    monkeypatch.delenv("RV_USER_C_PASSWORD", raising=False)
    assert not contract.has_user("c")
    monkeypatch.setenv("RV_USER_C", "carol")
    with pytest.raises(ConfigError, match=r"user c needs the environment variable\(s\) RV_USER_C_PASSWORD"):
        contract.user("c")
    monkeypatch.setenv("RV_USER_C_PASSWORD", "pw-carol")
    assert contract.user("c") == TestUser("c", "carol", "pw-carol")
    with pytest.raises(ConfigError, match=r"auth\.users has no user 'd'"):
        contract.user("d")


def test_nicknames_are_unique_per_run() -> None:
    first, second = adapter(auth__mode="nickname"), adapter(auth__mode="nickname")
    assert first.user("a").name.startswith("qa_a_")
    assert first.user("a").name != second.user("a").name
    assert first.user("a").password is None


async def test_watcher_logins_per_auth_mode() -> None:
    api = adapter(auth__socket_auth_key="jwt")
    assert await api.watcher_login(api.user("a")) == WatcherLogin(auth={"jwt": "token-alice"})
    assert await api.forged_login() == WatcherLogin(auth={"jwt": "forged.realtime-verify.token"})
    form = adapter(auth__mode="form")
    assert await form.watcher_login(form.user("a")) == WatcherLogin(headers={"Cookie": "session=cookie-alice; csrf=c"})
    assert await form.forged_login() == WatcherLogin(
        headers={"Cookie": "session=forged.realtime-verify; csrf=forged.realtime-verify"}
    )
    nickname = adapter(auth__mode="nickname")
    assert await nickname.watcher_login(nickname.user("a")) == WatcherLogin()


async def test_secrets_are_the_passwords_and_what_the_logins_returned() -> None:
    contract = adapter()
    await contract.prepare()
    assert set(contract.secrets()) >= {"pw-alice", "pw-bob", "token-alice", "token-bob"}
    form = adapter(auth__mode="form")
    await form.prepare()
    assert {"session=cookie-alice; csrf=c", "cookie-alice", "c"} <= set(form.secrets())


async def test_synthetic_chat_is_removed_by_each_logged_in_user() -> None:
    contract = adapter()
    await contract.prepare()
    fake: FakeTarget = contract.target  # type: ignore[assignment]
    fake.answers[("DELETE", "/api/chat/messages")] = {"deleted": 2}
    assert await contract.remove_chat("rv-ab12-") == 4
    deletes = [call[1] for call in fake.calls if call[0] == "DELETE"]
    assert deletes == ["/api/chat/messages?contains=rv-ab12-"] * 2
    fake.fail_requests = True
    assert await contract.remove_chat("rv-ab12-") == 0, "best effort: a refusal does not end the run"
    assert await adapter(auth__mode="nickname").remove_chat("rv-ab12-") is None
    assert await adapter(cleanup__chat="").remove_chat("rv-ab12-") is None


def test_capabilities_follow_the_profile() -> None:
    assert adapter().capabilities.chat == "direct"
    assert adapter(app__chat="broadcast").capabilities.chat == "broadcast"
    assert json.dumps(adapter().context_options(TestUser("a", "alice"))) == "{}"
