"""The Socket.IO side: authenticated connections, chat rooms, broadcasts and the heartbeat."""

from __future__ import annotations

import logging
import time
from typing import Any

import socketio

from reference_app.auth import TokenError, Tokens
from reference_app.db import Database, Item, Message, User
from reference_app.settings import Settings

logger = logging.getLogger("reference_app.realtime")

MAX_MESSAGE_LENGTH = 2000
SLOW_CONNECT_S = 0.1


def user_room(user_id: int) -> str:
    """Every socket of a user joins this room, so an emit to it reaches all of the user's tabs."""
    return f"user:{user_id}"


class Realtime:
    """The python-socketio server and the emit helpers the REST API uses."""

    def __init__(self, settings: Settings, db: Database, tokens: Tokens) -> None:
        self.settings = settings
        self.db = db
        self.tokens = tokens
        self.faults = settings.faults
        self.sio = socketio.AsyncServer(
            async_mode="asgi",
            ping_interval=settings.ping_interval_s,
            ping_timeout=settings.ping_timeout_s,
            logger=False,
            engineio_logger=False,
        )
        self.sio.on("connect", self._on_connect)
        self.sio.on("disconnect", self._on_disconnect)
        self.sio.on("chat:message", self._on_chat_message)
        self.sio.on("health:ping", self._on_health_ping)

    # Connection ----------------------------------------------------------------------------------

    def authenticate_socket_user(self, auth: object) -> User:
        """The user a connection's `auth` payload (`{"token": ...}`) proves; raises TokenError."""
        token = auth.get("token") if isinstance(auth, dict) else None
        user = self.db.user(self.tokens.user_id(token))
        if user is None:
            raise TokenError("unknown user")
        return user

    async def _on_connect(self, sid: str, environ: dict[str, Any], auth: object) -> None:
        if "slow-connect-handler" in self.faults:
            # A synchronous lookup in an async handler: it blocks every other connection meanwhile.
            time.sleep(SLOW_CONNECT_S)  # noqa: ASYNC251 - this fault is exactly that bug
        try:
            user: User | None = self.authenticate_socket_user(auth)
        except TokenError as error:
            if "no-socket-auth" not in self.faults:
                logger.info("refused socket %s: %s", sid, error)
                raise socketio.exceptions.ConnectionRefusedError(f"authentication failed: {error}") from None
            user = None
        await self.sio.save_session(sid, {"user_id": user.id if user else None})
        if user is not None:
            await self.sio.enter_room(sid, user_room(user.id))
        logger.debug("socket %s connected as %s", sid, user.username if user else "anonymous")

    async def _on_disconnect(self, sid: str, reason: object = None) -> None:
        logger.debug("socket %s disconnected (%s)", sid, reason)

    async def _user_id(self, sid: str) -> int | None:
        session = await self.sio.get_session(sid)
        user_id = session.get("user_id")
        return user_id if isinstance(user_id, int) else None

    # Chat ----------------------------------------------------------------------------------------

    async def _on_chat_message(self, sid: str, data: object) -> dict[str, Any]:
        """A client sends `{"to": user_id, "text": ..., "client_id": ...}`; the ack says the outcome."""
        return await self.handle_chat_from(await self._user_id(sid), data, origin_sid=sid)

    async def handle_chat_from(
        self, user_id: int | None, data: object, origin_sid: str | None = None
    ) -> dict[str, Any]:
        """Validate, persist and emit a chat message sent by `user_id` (socket or REST)."""
        if not isinstance(data, dict):
            return {"ok": False, "error": "payload must be an object"}
        claimed = data.get("sender_id")
        if claimed is not None and claimed != user_id:
            if "sender-spoofable" in self.faults and isinstance(claimed, int):
                user_id = claimed
            else:
                logger.warning("user %s claimed sender_id %r", user_id, claimed)
                return {"ok": False, "error": "sender_id does not match the authenticated user"}
        if user_id is None:
            return {"ok": False, "error": "not authenticated"}
        error = self._validate_chat(user_id, data)
        if error:
            return {"ok": False, "error": error}
        client_id = data.get("client_id")
        message = self.db.add_message(
            user_id, int(data["to"]), str(data["text"]), str(client_id) if client_id else None
        )
        payload = self.chat_payload(message)
        await self.emit_chat_message(payload, origin_sid=origin_sid)
        return {"ok": True, "message": payload}

    def _validate_chat(self, sender_id: int, data: dict[str, Any]) -> str | None:
        to, text = data.get("to"), data.get("text")
        if not isinstance(to, int) or self.db.user(to) is None:
            return "'to' must be the id of an existing user"
        if to == sender_id:
            return "cannot send a direct message to yourself"
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_MESSAGE_LENGTH:
            return f"'text' must be 1 to {MAX_MESSAGE_LENGTH} characters"
        return None

    def chat_payload(self, message: Message) -> dict[str, Any]:
        sender = self.db.user(message.sender_id)
        return {**message.to_json(), "sender_name": sender.username if sender else None}

    async def emit_chat_message(self, payload: dict[str, Any], origin_sid: str | None = None) -> None:
        """Emit `chat:message` to both participants of the conversation, every tab of each."""
        logger.debug(
            "chat:message %s from %s to %s",
            payload["id"],
            payload["sender_id"],
            payload["recipient_id"],
        )
        if "no-broadcast" in self.faults:
            if origin_sid is not None:
                await self.sio.emit("chat:message", payload, to=origin_sid)
            return
        if "chat-leaks-to-all" in self.faults:
            await self.sio.emit("chat:message", payload)
            return
        rooms = [user_room(payload["sender_id"]), user_room(payload["recipient_id"])]
        await self.sio.emit("chat:message", payload, to=rooms)

    # Orders and tasks ----------------------------------------------------------------------------

    async def emit_orders_update(self, order: Item, origin_sid: str | None = None) -> None:
        """Broadcast `orders:update` to every connected client."""
        await self._emit_item("orders:update", order, origin_sid)

    async def emit_tasks_update(self, task: Item, origin_sid: str | None = None) -> None:
        """Broadcast `tasks:update` to every connected client."""
        await self._emit_item("tasks:update", task, origin_sid)

    async def _emit_item(self, event: str, item: Item, origin_sid: str | None) -> None:
        logger.debug("%s %s v%s %s", event, item.id, item.version, item.status)
        if "no-broadcast" in self.faults:
            if origin_sid is not None:
                await self.sio.emit(event, item.to_json(), to=origin_sid)
            return
        await self.sio.emit(event, item.to_json())

    # Heartbeat -----------------------------------------------------------------------------------

    async def _on_health_ping(self, sid: str, data: object) -> None:
        if "no-pong" in self.faults:
            return
        ping = data if isinstance(data, dict) else {}
        await self.sio.emit(
            "health:pong",
            {"id": ping.get("id"), "ts": ping.get("ts"), "server_ts": time.time() * 1000},
            to=sid,
        )
