"""The reference app's own behaviour, over real HTTP and real Socket.IO connections."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
import socketio

from tests.reference_app.conftest import Client, RefApp, login


async def test_login_gives_a_token_and_rejects_a_wrong_password(ref_app: RefApp, http: aiohttp.ClientSession) -> None:
    token, user_id = await login(http, ref_app, "alice")
    async with http.get(f"{ref_app.url}/api/me", headers={"Authorization": f"Bearer {token}"}) as resp:
        assert await resp.json() == {"id": user_id, "username": "alice"}
    async with http.post(f"{ref_app.url}/api/login", json={"username": "alice", "password": "nope"}) as resp:
        assert resp.status == 401
        assert (await resp.json())["error"] == "wrong username or password"
    async with http.get(f"{ref_app.url}/api/me", headers={"Authorization": "Bearer forged"}) as resp:
        assert resp.status == 401


@pytest.mark.parametrize(("token", "reason"), [(None, "no token"), ("forged.token.value", "invalid token")])
async def test_socket_without_a_valid_token_is_refused(
    ref_app: RefApp, clients: Any, token: str | None, reason: str
) -> None:
    client = Client()
    with pytest.raises(socketio.exceptions.ConnectionError):
        await clients(ref_app, token, client=client)
    assert client.connect_errors == [{"message": f"authentication failed: {reason}"}]


async def test_spoofed_sender_is_rejected(ref_app: RefApp, http: aiohttp.ClientSession, clients: Any) -> None:
    alice_token, alice_id = await login(http, ref_app, "alice")
    _, bob_id = await login(http, ref_app, "bob")
    alice = await clients(ref_app, alice_token)
    ack = await alice.sio.call("chat:message", {"to": alice_id, "text": "as bob", "sender_id": bob_id})
    assert ack == {"ok": False, "error": "sender_id does not match the authenticated user"}
    ack = await alice.sio.call("chat:message", {"to": bob_id, "text": "hi", "sender_id": alice_id})
    assert ack["ok"] is True
    assert ack["message"]["sender_id"] == alice_id


async def test_chat_reaches_every_tab_of_both_participants_and_nobody_else(
    ref_app: RefApp, http: aiohttp.ClientSession, clients: Any
) -> None:
    alice_token, _ = await login(http, ref_app, "alice")
    bob_token, bob_id = await login(http, ref_app, "bob")
    carol_token, _ = await login(http, ref_app, "carol")
    alice_tab1, alice_tab2 = (
        await clients(ref_app, alice_token),
        await clients(ref_app, alice_token),
    )
    bob = await clients(ref_app, bob_token, ["polling"])
    carol = await clients(ref_app, carol_token)
    ack = await alice_tab1.sio.call("chat:message", {"to": bob_id, "text": "room test", "client_id": "c1"})
    message_id = ack["message"]["id"]
    for client in (alice_tab1, alice_tab2, bob):
        await client.wait_for("chat:message", lambda m: m["id"] == message_id, "carrying the message")
    # Barrier: carol pings after the message was emitted; her pong comes after anything sent to her before.
    await carol.sio.emit("health:ping", {"id": 1, "ts": 0})
    await carol.wait_for("health:pong", what="to carol's ping")
    assert carol.received("chat:message") == []
    assert [m["client_id"] for m in bob.received("chat:message")] == ["c1"]


async def test_order_updates_are_broadcast_and_resync_reads_return_what_was_missed(
    ref_app: RefApp, http: aiohttp.ClientSession, clients: Any
) -> None:
    token, _ = await login(http, ref_app, "alice")
    headers = {"Authorization": f"Bearer {token}"}
    watcher_token, _ = await login(http, ref_app, "carol")
    watcher = await clients(ref_app, watcher_token)
    async with http.get(f"{ref_app.url}/api/orders?since_version=0", headers=headers) as resp:
        start_version = max((o["version"] for o in await resp.json()), default=0)
    async with http.post(f"{ref_app.url}/api/orders", json={"title": "[test] order"}, headers=headers) as resp:
        order = await resp.json()
        assert resp.status == 201
    async with http.post(f"{ref_app.url}/api/orders/{order['id']}/advance", headers=headers) as resp:
        assert (await resp.json())["status"] == "accepted"
    async with http.delete(f"{ref_app.url}/api/orders/{order['id']}", headers=headers) as resp:
        assert (await resp.json())["deleted"] is True
    await watcher.wait_for("orders:update", lambda u: u["id"] == order["id"] and u["deleted"], "for the deletion")
    assert [u["status"] for u in watcher.received("orders:update")] == [
        "new",
        "accepted",
        "accepted",
    ]
    async with http.get(f"{ref_app.url}/api/orders?since_version={start_version}", headers=headers) as resp:
        changed = await resp.json()
    # Resync returns each order once, at its latest version: the tombstone included.
    assert [(o["id"], o["deleted"]) for o in changed] == [(order["id"], True)]


async def test_chat_resync_reads_since_an_id(ref_app: RefApp, http: aiohttp.ClientSession) -> None:
    token, _ = await login(http, ref_app, "bob")
    _, carol_id = await login(http, ref_app, "carol")
    headers = {"Authorization": f"Bearer {token}"}
    ids = []
    for text in ("one", "two", "three"):
        async with http.post(
            f"{ref_app.url}/api/chat/messages", json={"to": carol_id, "text": text}, headers=headers
        ) as resp:
            ids.append((await resp.json())["message"]["id"])
    async with http.get(f"{ref_app.url}/api/chat/messages?since_id={ids[0]}", headers=headers) as resp:
        assert [m["text"] for m in await resp.json()] == ["two", "three"]


async def test_messages_orders_and_tokens_survive_a_restart(ref_app: RefApp, http: aiohttp.ClientSession) -> None:
    token, _ = await login(http, ref_app, "alice")
    _, bob_id = await login(http, ref_app, "bob")
    headers = {"Authorization": f"Bearer {token}"}
    async with http.post(
        f"{ref_app.url}/api/chat/messages",
        json={"to": bob_id, "text": "persisted"},
        headers=headers,
    ) as resp:
        message_id = (await resp.json())["message"]["id"]
    await asyncio.to_thread(ref_app.restart)
    async with http.get(f"{ref_app.url}/api/chat/messages?since_id={message_id - 1}", headers=headers) as resp:
        assert resp.status == 200, "the token must still be valid after a restart"
        assert [m["text"] for m in await resp.json()] == ["persisted"]


async def test_health_ping_gets_a_pong_echoing_id_and_timestamp(
    ref_app: RefApp, http: aiohttp.ClientSession, clients: Any
) -> None:
    token, _ = await login(http, ref_app, "alice")
    client: Client = await clients(ref_app, token)
    await client.sio.emit("health:ping", {"id": 7, "ts": 123.5})
    pong = await client.wait_for("health:pong", what="to the ping")
    assert (pong["id"], pong["ts"]) == (7, 123.5)
    assert pong["server_ts"] > 0


async def test_runtime_config_comes_from_the_environment(start_app: Any, http: aiohttp.ClientSession) -> None:
    app = start_app(
        NEXT_PUBLIC_ENABLE_WEBSOCKETS="false",
        NEXT_PUBLIC_WEBSOCKET_URL="wss://rt.example.com",
        RA_HEARTBEAT_INTERVAL_MS="1500",
        RA_APP_VERSION="42",
    )
    async with http.get(f"{app.url}/api/config") as resp:
        config = await resp.json()
    assert config["NEXT_PUBLIC_ENABLE_WEBSOCKETS"] == "false"
    assert config["NEXT_PUBLIC_WEBSOCKET_URL"] == "wss://rt.example.com"
    assert config["heartbeatIntervalMs"] == 1500
    async with http.get(f"{app.url}/sw.js") as resp:
        source = await resp.text()
    assert 'const VERSION = "42";' in source
    assert "const INTERCEPT_SOCKET = false;" in source


async def pongs_before_a_barrier(http: aiohttp.ClientSession, clients: Any, app: RefApp) -> int:
    """How many pongs answer a ping by the time a later chat message is acknowledged.

    The server handles one client's events in the order they come and emits on one ordered transport,
    so a pong (emitted at once by the ping's handler) arrives before the ack of a message sent after it.
    """
    token, _ = await login(http, app, "alice")
    _, bob_id = await login(http, app, "bob")
    client: Client = await clients(app, token)
    for number in range(3):
        await client.sio.emit("health:ping", {"id": number, "ts": 0})
    ack = await client.sio.call("chat:message", {"to": bob_id, "text": "barrier"}, timeout=5)
    assert ack["ok"] is True, "the socket is live: only the heartbeat is ignored"
    return len(client.received("health:pong"))


async def test_no_pong_fault_stops_the_pongs(
    ref_app: RefApp, start_app: Any, http: aiohttp.ClientSession, clients: Any
) -> None:
    assert await pongs_before_a_barrier(http, clients, ref_app) == 3, "the healthy app answers every ping"
    assert await pongs_before_a_barrier(http, clients, start_app(RA_FAULTS="no-pong")) == 0


async def test_no_socket_auth_fault_accepts_anonymous_and_forged_sockets(start_app: Any, clients: Any) -> None:
    app = start_app(RA_FAULTS="no-socket-auth")
    anonymous = await clients(app, None)
    forged = await clients(app, "forged.token.value")
    assert anonymous.sio.connected
    assert forged.sio.connected
    ack = await anonymous.sio.call("chat:message", {"to": 1, "text": "hi"}, timeout=5)
    assert ack == {"ok": False, "error": "not authenticated"}, "accepted, but still nobody"


async def test_sender_spoofable_fault_trusts_the_claimed_sender(
    start_app: Any, http: aiohttp.ClientSession, clients: Any
) -> None:
    app = start_app(RA_FAULTS="sender-spoofable")
    alice_token, alice_id = await login(http, app, "alice")
    bob_token, bob_id = await login(http, app, "bob")
    alice, bob = await clients(app, alice_token), await clients(app, bob_token)
    ack = await alice.sio.call("chat:message", {"to": alice_id, "text": "as bob", "sender_id": bob_id}, timeout=5)
    assert ack["ok"] is True
    assert ack["message"]["sender_id"] == bob_id
    delivered = await bob.wait_for("chat:message", lambda m: m["text"] == "as bob", "for the spoofed message")
    assert (delivered["sender_id"], delivered["sender_name"]) == (bob_id, "bob")


async def test_no_broadcast_fault_answers_the_sender_only(
    start_app: Any, http: aiohttp.ClientSession, clients: Any
) -> None:
    app = start_app(RA_FAULTS="no-broadcast")
    alice_token, _ = await login(http, app, "alice")
    bob_token, bob_id = await login(http, app, "bob")
    alice, bob = await clients(app, alice_token), await clients(app, bob_token)
    ack = await alice.sio.call("chat:message", {"to": bob_id, "text": "for bob"}, timeout=5)
    await alice.wait_for("chat:message", lambda m: m["id"] == ack["message"]["id"], "echoed to the sender")
    async with http.post(
        f"{app.url}/api/orders", json={"title": "for everyone"}, headers={"Authorization": f"Bearer {alice_token}"}
    ) as resp:
        assert resp.status == 201
    # Barrier: bob's pong comes after anything the server emitted to him before it.
    await bob.sio.emit("health:ping", {"id": 1, "ts": 0})
    await bob.wait_for("health:pong", what="to bob's ping")
    assert bob.received("chat:message") == []
    assert bob.received("orders:update") == []


async def test_chat_leaks_to_all_fault_reaches_a_third_user(
    start_app: Any, http: aiohttp.ClientSession, clients: Any
) -> None:
    app = start_app(RA_FAULTS="chat-leaks-to-all")
    alice_token, _ = await login(http, app, "alice")
    _, bob_id = await login(http, app, "bob")
    carol_token, _ = await login(http, app, "carol")
    alice, carol = await clients(app, alice_token), await clients(app, carol_token)
    ack = await alice.sio.call("chat:message", {"to": bob_id, "text": "alice to bob"}, timeout=5)
    leaked = await carol.wait_for("chat:message", lambda m: m["id"] == ack["message"]["id"], "leaked to carol")
    assert (leaked["sender_id"], leaked["recipient_id"]) == (ack["message"]["sender_id"], bob_id)


PAGE_FAULTS = {
    "no-resync": ("resync", True, False),
    "duplicate-on-resync": ("dedupeResync", True, False),
    "no-reconnect": ("reconnection", True, False),
    "no-missed-pong-check": ("missedPongLimit", 3, 0),
    "sw-no-skip-waiting": ("swSkipWaiting", True, False),
}


async def test_page_faults_reach_the_page_through_its_config(
    ref_app: RefApp, start_app: Any, http: aiohttp.ClientSession
) -> None:
    faulty = start_app(RA_FAULTS=",".join([*PAGE_FAULTS, "sw-intercepts-socket"]), RA_MISSED_PONG_LIMIT="3")
    for app, index in ((ref_app, 1), (faulty, 2)):
        async with http.get(f"{app.url}/api/config") as resp:
            config = await resp.json()
        assert {key: config[key] for key, *_ in PAGE_FAULTS.values()} == {
            key: values[index - 1] for key, *values in PAGE_FAULTS.values()
        }
        async with http.get(f"{app.url}/sw.js") as resp:
            intercept = "const INTERCEPT_SOCKET = true;" in await resp.text()
        assert intercept == (app is faulty), "sw-intercepts-socket (proven in a browser: tests/integration)"


async def test_the_socket_path_is_the_one_configured(start_app: Any, http: aiohttp.ClientSession, clients: Any) -> None:
    app = start_app(RA_SOCKET_PATH="/rt/")
    token, _ = await login(http, app, "alice")
    client = await clients(app, token, path="rt")
    assert client.sio.connected
    async with http.get(f"{app.url}/socket.io/?EIO=4&transport=polling") as resp:
        assert resp.status == 404, "nothing is served at the default path"
    async with http.get(f"{app.url}/sw.js") as resp:
        assert 'const SOCKET_PATH = "/rt/";' in await resp.text()
    async with http.get(f"{app.url}/api/config") as resp:
        assert (await resp.json())["NEXT_PUBLIC_WEBSOCKET_PATH"] == "/rt"


async def test_tasks_change_and_are_broadcast(ref_app: RefApp, http: aiohttp.ClientSession, clients: Any) -> None:
    token, _ = await login(http, ref_app, "bob")
    watcher_token, _ = await login(http, ref_app, "carol")
    watcher = await clients(ref_app, watcher_token)
    headers = {"Authorization": f"Bearer {token}"}
    async with http.post(f"{ref_app.url}/api/tasks", json={"title": "[test] task"}, headers=headers) as resp:
        task = await resp.json()
        assert (resp.status, task["status"]) == (201, "todo")
    async with http.patch(f"{ref_app.url}/api/tasks/{task['id']}", json={"status": "done"}, headers=headers) as resp:
        assert (await resp.json())["status"] == "done"
    async with http.patch(f"{ref_app.url}/api/tasks/{task['id']}", json={"status": "ready"}, headers=headers) as resp:
        assert resp.status == 400, "a status of orders is not one of tasks"
    async with http.delete(f"{ref_app.url}/api/tasks/{task['id']}", headers=headers) as resp:
        assert (await resp.json())["deleted"] is True
    await watcher.wait_for("tasks:update", lambda t: t["id"] == task["id"] and t["deleted"], "for the deletion")
    assert [t["status"] for t in watcher.received("tasks:update") if t["id"] == task["id"]] == ["todo", "done", "done"]
    assert watcher.received("orders:update") == []


async def test_an_unknown_fault_stops_the_app_with_a_clear_message(tmp_path: Any) -> None:
    app = RefApp(tmp_path, {"RA_FAULTS": "no-brodcast"})
    with pytest.raises(RuntimeError, match="unknown fault"):
        app.start()


async def test_synthetic_messages_are_removed_by_their_sender_only(
    ref_app: RefApp, http: aiohttp.ClientSession
) -> None:
    alice, _ = await login(http, ref_app, "alice")
    bob, bob_id = await login(http, ref_app, "bob")
    _, carol_id = await login(http, ref_app, "carol")
    marker = "rv-cleanup1-"
    for token, to in ((alice, bob_id), (bob, carol_id)):
        async with http.post(
            f"{ref_app.url}/api/chat/messages",
            json={"to": to, "text": f"x {marker}1"},
            headers={"Authorization": f"Bearer {token}"},
        ) as resp:
            assert resp.status == 201
    async with http.delete(
        f"{ref_app.url}/api/chat/messages?contains={marker}", headers={"Authorization": f"Bearer {alice}"}
    ) as resp:
        assert await resp.json() == {"deleted": 1}, "alice removes her own message, not bob's"
    async with http.delete(
        f"{ref_app.url}/api/chat/messages?contains=x", headers={"Authorization": f"Bearer {alice}"}
    ) as resp:
        assert resp.status == 400
