"""The foreign-shaped fixture apps (tests/fixtures/apps) behave as their README says, faults included.

Each claim is proven with real clients: python-socketio AsyncClient for the socket, httpx for HTTP.
"Did not arrive" is never judged after a pause: a later event on the same socket (which the server
must send after the one in question, on the same ordered transport) closes the window.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import httpx
import pytest
import pytest_asyncio
import socketio

from tests.fixtures.apps.launch import AppStartError, RunningApp, alaunched

WAIT_S = 5.0
USERS = {"ann": "ann@example.test", "ben": "ben@example.test", "cid": "cid@example.test"}


class Inbox:
    """Every event one client received, in order, with bounded waits."""

    def __init__(self, client: socketio.AsyncClient, name: str, events: tuple[str, ...]) -> None:
        self.name = name
        self.received: list[tuple[str, Any]] = []
        self._changed = asyncio.Event()
        for event in events:
            client.on(event, self._recorder(event))

    def _recorder(self, event: str) -> Callable[..., Any]:
        async def record(*args: Any) -> None:
            self.received.append((event, args[0] if args else None))
            self._changed.set()

        return record

    def of(self, event: str) -> list[Any]:
        return [data for name, data in self.received if name == event]

    async def wait_for(
        self, event: str, what: str, match: Callable[[Any], bool] = lambda _: True, timeout_s: float = WAIT_S
    ) -> Any:
        """The first `event` whose payload matches; fails naming what was awaited and what came instead."""
        try:
            async with asyncio.timeout(timeout_s):
                while True:
                    self._changed.clear()  # cleared before looking, so an event arriving meanwhile still wakes us
                    for data in self.of(event):
                        if match(data):
                            return data
                    await self._changed.wait()
        except TimeoutError:
            raise AssertionError(
                f"{self.name}: no '{event}' {what} within {timeout_s} s; received {self.received}"
            ) from None


@asynccontextmanager
async def socket_client(
    app: RunningApp, name: str, events: tuple[str, ...], headers: dict[str, str] | None = None
) -> AsyncIterator[tuple[socketio.AsyncClient, Inbox]]:
    """A connected python-socketio client with an inbox; its HTTP session is ours, so a refusal leaks nothing."""
    async with aiohttp.ClientSession() as http:
        client = socketio.AsyncClient(reconnection=False, http_session=http)
        inbox = Inbox(client, name, events)
        try:
            await client.connect(
                app.base_url,
                headers=headers or {},
                socketio_path=app.socket_path,
                transports=["websocket"],
                wait_timeout=WAIT_S,
            )
            yield client, inbox
        finally:
            await client.disconnect()


# node-chat --------------------------------------------------------------------------------------

CHAT_EVENTS = ("login", "new message", "user joined", "user left")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def node_chat() -> AsyncIterator[RunningApp]:
    async with alaunched("node-chat") as app:
        yield app


@asynccontextmanager
async def chat_user(app: RunningApp, nickname: str) -> AsyncIterator[tuple[socketio.AsyncClient, Inbox]]:
    async with socket_client(app, nickname, CHAT_EVENTS) as (client, inbox):
        await client.emit("add user", nickname)
        await inbox.wait_for("login", "after 'add user'")
        yield client, inbox


async def test_node_chat_serves_its_page_and_the_socket_io_client(node_chat: RunningApp) -> None:
    async with httpx.AsyncClient(base_url=node_chat.base_url, timeout=WAIT_S) as http:
        page = await http.get("/")
        script = await http.get("/socket.io/socket.io.js")
    assert page.status_code == 200
    for needle in ('class="usernameInput"', 'class="inputMessage"', 'class="messages"', "/socket.io/socket.io.js"):
        assert needle in page.text
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]


async def test_node_chat_broadcasts_to_everyone_else_not_to_the_sender(node_chat: RunningApp) -> None:
    async with chat_user(node_chat, "amy") as (amy, amy_inbox), chat_user(node_chat, "bob") as (bob, bob_inbox):
        await amy_inbox.wait_for("user joined", "for bob", lambda d: d["username"] == "bob")
        await amy.emit("new message", "hello from amy")
        got = await bob_inbox.wait_for("new message", "from amy", lambda d: d["message"] == "hello from amy")
        assert got == {"username": "amy", "message": "hello from amy"}
        # Bob's reply reaches Amy on the same socket after any echo of her own message would have.
        await bob.emit("new message", "hi amy")
        await amy_inbox.wait_for("new message", "from bob", lambda d: d["message"] == "hi amy")
        assert [d["message"] for d in amy_inbox.of("new message")] == ["hi amy"]
        assert [d["message"] for d in bob_inbox.of("new message")] == ["hello from amy"]


async def test_node_chat_no_broadcast_fault_keeps_messages_from_others() -> None:
    async with alaunched("node-chat", env={"APP_FAULTS": "no-broadcast"}) as app, chat_user(app, "bob") as (_, bob):
        async with chat_user(app, "amy") as (amy, _):
            await amy.emit("new message", "nobody hears this")
        # Amy's disconnect is handled after her message (same socket, in order): "user left" closes the window.
        await bob.wait_for("user left", "for amy", lambda d: d["username"] == "amy")
        assert bob.of("new message") == []


async def handshake(app: RunningApp, origin: str | None) -> httpx.Response:
    headers = {"Origin": origin} if origin else {}
    async with httpx.AsyncClient(base_url=app.base_url, timeout=WAIT_S) as http:
        return await http.get(f"{app.socket_path}/", params={"EIO": "4", "transport": "polling"}, headers=headers)


async def raw_upgrade(app: RunningApp, origin: str) -> bytes:
    """A WebSocket upgrade request by hand, to read the refusal exactly as the server writes it."""
    url = urlsplit(app.base_url)
    reader, writer = await asyncio.open_connection(url.hostname, url.port)
    writer.write(
        (
            f"GET {app.socket_path}/?EIO=4&transport=websocket HTTP/1.1\r\nHost: {url.netloc}\r\n"
            f"Origin: {origin}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    try:
        async with asyncio.timeout(WAIT_S):
            return await reader.read()  # the server closes after its answer
    except TimeoutError:
        raise AssertionError(f"no answer (or no close) to a WebSocket upgrade within {WAIT_S} s") from None
    finally:
        writer.close()


async def test_node_chat_origin_check_refuses_other_origins_like_engine_io() -> None:
    allowed = "https://chat.example.test"
    env = {"APP_FAULTS": "origin-check", "ALLOWED_ORIGIN": allowed}
    async with alaunched("node-chat", env=env) as app:
        refused = await handshake(app, "https://elsewhere.example.test")
        assert refused.status_code == 403
        assert refused.json() == {"code": 4, "message": "Forbidden"}
        upgrade = await raw_upgrade(app, "https://elsewhere.example.test")
        assert upgrade.startswith(b"HTTP/1.1 400 Bad Request\r\n")
        assert upgrade.endswith(b"\r\n\r\nForbidden")

        ok = await handshake(app, allowed)
        assert ok.status_code == 200
        assert ok.text.startswith("0{")
        assert ok.headers["access-control-allow-origin"] == allowed
        assert (await handshake(app, None)).status_code == 200  # no Origin (same-origin GET, server clients)

        with pytest.raises(socketio.exceptions.ConnectionError):
            async with socket_client(app, "stranger", CHAT_EVENTS, {"Origin": "https://elsewhere.example.test"}):
                pass


async def test_node_chat_honours_socket_path() -> None:
    async with alaunched("node-chat", env={"SOCKET_PATH": "/rt/chat"}) as app:
        async with httpx.AsyncClient(base_url=app.base_url, timeout=WAIT_S) as http:
            page = await http.get("/")
            assert '<script src="/rt/chat/socket.io.js">' in page.text
            assert (await http.get("/rt/chat/socket.io.js")).status_code == 200
        assert (await handshake(app, None)).status_code == 200
        async with chat_user(app, "amy"):
            pass


# py-rooms ---------------------------------------------------------------------------------------

ROOM_EVENTS = ("room_message", "task_changed", "hb_ack")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def py_rooms() -> AsyncIterator[RunningApp]:
    async with alaunched("py-rooms") as app:
        yield app


async def sign_in(app: RunningApp, user: str, password: str | None = None) -> str:
    """The Cookie header a browser would send after signing in through the form."""
    async with httpx.AsyncClient(base_url=app.base_url, timeout=WAIT_S) as http:
        response = await http.post("/login", data={"email": USERS[user], "password": password or f"{user}-pw"})
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/"
    return "; ".join(f"{name}={value}" for name, value in response.cookies.items())


@asynccontextmanager
async def room_member(
    app: RunningApp, user: str, room: str | None = "general"
) -> AsyncIterator[tuple[socketio.AsyncClient, Inbox]]:
    cookie = await sign_in(app, user)
    async with socket_client(app, user, ROOM_EVENTS, {"Cookie": cookie}) as (client, inbox):
        if room:
            assert await client.call("join", {"room": room}, timeout=WAIT_S) == {"ok": True, "room": room}
        yield client, inbox


async def test_py_rooms_signs_in_with_the_form_and_a_cookie(py_rooms: RunningApp) -> None:
    async with httpx.AsyncClient(base_url=py_rooms.base_url, timeout=WAIT_S) as http:
        assert (await http.get("/")).headers["location"] == "/login"
        form = (await http.get("/login")).text
        for needle in ('name="email"', 'name="password"', ">Sign in</button>"):
            assert needle in form
        wrong = await http.post("/login", data={"email": USERS["ann"], "password": "nope"})
        assert wrong.status_code == 401
        assert not wrong.cookies
        assert (await http.get("/api/me")).status_code == 401
    cookie = await sign_in(py_rooms, "ann")
    async with httpx.AsyncClient(base_url=py_rooms.base_url, timeout=WAIT_S, headers={"Cookie": cookie}) as http:
        assert (await http.get("/api/me")).json() == {"email": USERS["ann"], "id": 1}
        page = await http.get("/")
        vendor = await http.get("/vendor/socket.io.min.js")
    for needle in ('id="composer"', 'id="send"', 'id="room"', 'id="tasks"', 'content="/socket.io"'):
        assert needle in page.text
    assert vendor.status_code == 200
    assert "io" in vendor.text[:2000]


async def refusal(app: RunningApp, headers: dict[str, str]) -> Any:
    """The connect_error payload the server sends when it refuses a socket (fails if it accepts it)."""
    async with aiohttp.ClientSession() as http:
        client = socketio.AsyncClient(reconnection=False, http_session=http)
        inbox = Inbox(client, "anonymous", ("connect_error",))
        with pytest.raises(socketio.exceptions.ConnectionError):
            await client.connect(
                app.base_url,
                headers=headers,
                socketio_path=app.socket_path,
                transports=["websocket"],
                wait_timeout=WAIT_S,
            )
        return await inbox.wait_for("connect_error", "after a refused connect")


async def test_py_rooms_refuses_a_socket_without_a_valid_cookie(py_rooms: RunningApp) -> None:
    name, _, value = (await sign_in(py_rooms, "ann")).partition("=")
    tampered = f"{name}={'B' if value.startswith('A') else 'A'}{value[1:]}"  # payload changed, signature kept
    for headers in ({}, {"Cookie": tampered}):
        assert await refusal(py_rooms, headers) == {"message": "sign in first"}


async def test_py_rooms_delivers_room_messages_to_the_room_only(py_rooms: RunningApp) -> None:
    async with (
        room_member(py_rooms, "ann") as (ann, ann_inbox),
        room_member(py_rooms, "ben") as (_, ben_inbox),
        room_member(py_rooms, "cid", room="ops") as (cid, cid_inbox),
    ):
        ack = await ann.call("send_message", {"room": "general", "body": "deploy done"}, timeout=WAIT_S)
        assert ack["ok"] is True
        expected = {"id": ack["id"], "room": "general", "author": {"email": USERS["ann"], "id": 1}}
        for inbox in (ann_inbox, ben_inbox):  # the sender is included
            got = await inbox.wait_for("room_message", f"id {ack['id']}", lambda d: d["id"] == ack["id"])
            assert {k: got[k] for k in expected} == expected
            assert got["body"] == "deploy done"
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", got["sent_at"])
        # Cid's own message in ops is queued to him after anything the earlier emit could have sent him.
        own = await cid.call("send_message", {"room": "ops", "body": "ops only"}, timeout=WAIT_S)
        await cid_inbox.wait_for("room_message", "of his own", lambda d: d["id"] == own["id"])
        assert [m["body"] for m in cid_inbox.of("room_message")] == ["ops only"]
        assert ack["id"] not in [m["id"] for m in ben_inbox.of("room_message") if m["room"] == "ops"]

    cookie = await sign_in(py_rooms, "ben")
    async with httpx.AsyncClient(base_url=py_rooms.base_url, timeout=WAIT_S, headers={"Cookie": cookie}) as http:
        missed = (await http.get("/api/rooms/general/messages", params={"after": ack["id"] - 1})).json()["messages"]
        assert [m["id"] for m in missed] == [ack["id"]]
        assert (await http.get("/api/rooms/general/messages", params={"after": ack["id"]})).json()["messages"] == []


async def test_py_rooms_takes_the_author_from_the_session_and_rejects_a_spoofed_one(py_rooms: RunningApp) -> None:
    async with room_member(py_rooms, "ann") as (ann, _), room_member(py_rooms, "ben") as (ben, ben_inbox):
        spoofed = {"room": "general", "body": "i am ben", "author": {"email": USERS["ben"], "id": 2}}
        ack = await ann.call("send_message", spoofed, timeout=WAIT_S)
        assert ack["ok"] is False
        assert "author" in ack["error"]
        honest = {"room": "general", "body": "really ann", "author": {"email": USERS["ann"], "id": 1}}
        assert (await ann.call("send_message", honest, timeout=WAIT_S))["ok"] is True
        await ben_inbox.wait_for("room_message", "'really ann'", lambda d: d["body"] == "really ann")
        assert [m["body"] for m in ben_inbox.of("room_message")] == ["really ann"]
        assert ben_inbox.of("room_message")[0]["author"] == {"email": USERS["ann"], "id": 1}
        not_joined = await ben.call("send_message", {"room": "ops", "body": "x"}, timeout=WAIT_S)
        assert not_joined["ok"] is False


def has_rev(rev: int, data: Any) -> bool:
    return bool(data["task"]["rev"] == rev)


async def test_py_rooms_emits_task_changed_to_everyone(py_rooms: RunningApp) -> None:
    cookie = await sign_in(py_rooms, "ann")
    async with (
        room_member(py_rooms, "ben", room=None) as (_, ben),
        httpx.AsyncClient(base_url=py_rooms.base_url, timeout=WAIT_S, headers={"Cookie": cookie}) as http,
    ):
        created = await http.post("/api/tasks", json={"title": "rotate keys"})
        assert created.status_code == 201
        task = created.json()
        assert task == {"id": task["id"], "title": "rotate keys", "state": "todo", "rev": 1}
        for state, rev in (("doing", 2), ("done", 3)):
            response = await http.patch(f"/api/tasks/{task['id']}", json={"state": state})
            assert response.json()["state"] == state
            got = await ben.wait_for("task_changed", f"to {state}", partial(has_rev, rev))
            assert got == {"task": {**task, "state": state, "rev": rev}}
        assert (await http.patch(f"/api/tasks/{task['id']}", json={"state": "todo"})).status_code == 409
        assert task["id"] in [t["id"] for t in (await http.get("/api/tasks")).json()["tasks"]]
        assert (await http.delete(f"/api/tasks/{task['id']}")).status_code == 204
        gone = await ben.wait_for("task_changed", "for the deletion", lambda d: d["task"]["state"] == "deleted")
        assert gone["task"]["rev"] == 4


async def test_py_rooms_answers_hb_with_hb_ack(py_rooms: RunningApp) -> None:
    async with room_member(py_rooms, "cid", room=None) as (cid, inbox):
        await cid.emit("hb", {"n": 41})
        assert await inbox.wait_for("hb_ack", "for n=41") == {"n": 41}


async def test_py_rooms_no_room_emit_fault_echoes_to_the_sender_only() -> None:
    async with (
        alaunched("py-rooms", env={"APP_FAULTS": "no-room-emit"}) as app,
        room_member(app, "ann") as (ann, ann_inbox),
        room_member(app, "ben") as (ben, ben_inbox),
    ):
        ack = await ann.call("send_message", {"room": "general", "body": "anyone?"}, timeout=WAIT_S)
        await ann_inbox.wait_for("room_message", "of her own", lambda d: d["id"] == ack["id"])
        own = await ben.call("send_message", {"room": "general", "body": "ben here"}, timeout=WAIT_S)
        await ben_inbox.wait_for("room_message", "of his own", lambda d: d["id"] == own["id"])
        assert [m["body"] for m in ben_inbox.of("room_message")] == ["ben here"]


async def test_py_rooms_origin_check_and_socket_path() -> None:
    env = {"APP_FAULTS": "origin-check", "ALLOWED_ORIGIN": "https://rooms.example.test", "SOCKET_PATH": "/live"}
    async with alaunched("py-rooms", env=env) as app:
        refused = await handshake(app, app.base_url)  # even the page's own origin: not the configured one
        assert refused.status_code == 400
        assert json.loads(refused.text) == f"{app.base_url} is not an accepted origin."  # python-engineio's words
        assert (await handshake(app, "https://rooms.example.test")).status_code == 200
        async with room_member(app, "ann"):
            pass  # no Origin header: python-engineio lets it through
        cookie = await sign_in(app, "ann")
        async with httpx.AsyncClient(base_url=app.base_url, timeout=WAIT_S, headers={"Cookie": cookie}) as http:
            assert '<meta name="socket-path" content="/live">' in (await http.get("/")).text


async def test_no_resync_fault_is_announced_to_the_page() -> None:
    async with alaunched("py-rooms", env={"APP_FAULTS": "no-resync"}) as app:
        cookie = await sign_in(app, "ann")
        async with httpx.AsyncClient(base_url=app.base_url, timeout=WAIT_S, headers={"Cookie": cookie}) as http:
            assert '<meta name="resync" content="off">' in (await http.get("/")).text


# launch.py --------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["node-chat", "py-rooms"])
async def test_apps_exit_cleanly_on_sigterm_with_a_client_connected(name: str) -> None:
    async with alaunched(name) as app:  # type: ignore[arg-type]
        headers = {"Cookie": await sign_in(app, "ann")} if name == "py-rooms" else {}
        async with socket_client(app, "ann", (), headers) as (client, _):
            assert client.connected
            code = await asyncio.to_thread(app.stop)
        assert code == 0, app.stderr_tail()


@pytest.mark.parametrize("name", ["node-chat", "py-rooms"])
async def test_launch_reports_an_app_that_dies_with_its_stderr(name: str) -> None:
    with pytest.raises(AppStartError, match=r"(?s)exited with code [12] .*stderr tail:.*unknown fault"):
        async with alaunched(name, env={"APP_FAULTS": "no-such-fault"}):  # type: ignore[arg-type]
            pass


async def test_launch_gives_up_on_an_app_that_stays_silent() -> None:
    with pytest.raises(AppStartError, match=r"did not print 'listening on <url>' within 0.01 s"):
        async with alaunched("py-rooms", timeout_s=0.01):
            pass
