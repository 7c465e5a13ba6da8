"""The REST API and the page: login, runtime config, chat, orders, tasks, resync reads."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from reference_app.auth import TokenError, Tokens
from reference_app.db import ORDER_STATUSES, TASK_STATUSES, Database, User
from reference_app.realtime import Realtime
from reference_app.settings import Settings

STATIC_DIR = Path(__file__).parent / "static"
MAX_TITLE_LENGTH = 200

Handler = Callable[[Request], Awaitable[Response]]


def find_socketio_client(settings: Settings) -> Path | None:
    """The socket.io browser client installed by `npm ci` (or the path the settings name)."""
    if settings.socketio_client_js is not None:
        return settings.socketio_client_js
    for parent in Path(__file__).resolve().parents:
        candidate = parent / "node_modules/socket.io-client/dist/socket.io.esm.min.js"
        if candidate.is_file():
            return candidate
    return None


class Api:
    """Route handlers bound to the app's database, tokens and socket server."""

    def __init__(self, settings: Settings, db: Database, tokens: Tokens, realtime: Realtime) -> None:
        self.settings = settings
        self.db = db
        self.tokens = tokens
        self.realtime = realtime

    def routes(self) -> list[Route | Mount]:
        return [
            Route("/", self.index),
            Route("/sw.js", self.service_worker),
            Route("/vendor/socket.io.esm.min.js", self.socketio_client),
            Route("/api/health", self.health),
            Route("/api/config", self.config),
            Route("/api/login", self.login, methods=["POST"]),
            Route("/api/me", self.authed(self.me)),
            Route("/api/users", self.authed(self.users)),
            Route("/api/chat/messages", self.authed(self.chat_messages), methods=["GET", "POST", "DELETE"]),
            Route("/api/orders", self.authed(self.orders), methods=["GET", "POST"]),
            Route(
                "/api/orders/{item_id:int}",
                self.authed(self.order),
                methods=["GET", "PATCH", "DELETE"],
            ),
            Route(
                "/api/orders/{item_id:int}/advance",
                self.authed(self.advance_order),
                methods=["POST"],
            ),
            Route("/api/tasks", self.authed(self.tasks), methods=["GET", "POST"]),
            Route(
                "/api/tasks/{item_id:int}",
                self.authed(self.task),
                methods=["GET", "PATCH", "DELETE"],
            ),
            Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
        ]

    # Page ----------------------------------------------------------------------------------------

    async def index(self, request: Request) -> Response:
        return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})

    async def service_worker(self, request: Request) -> Response:
        source = (STATIC_DIR / "sw.js").read_text()
        source = source.replace("__APP_VERSION__", json.dumps(self.settings.app_version))
        intercept = "sw-intercepts-socket" in self.settings.faults
        source = source.replace("__INTERCEPT_SOCKET__", json.dumps(intercept))
        source = source.replace("__SOCKET_PATH__", json.dumps(self.settings.socket_path.rstrip("/") + "/"))
        return Response(
            source,
            media_type="text/javascript",
            headers={"Cache-Control": "no-cache", "Service-Worker-Allowed": "/"},
        )

    async def socketio_client(self, request: Request) -> Response:
        path = find_socketio_client(self.settings)
        if path is None:
            return Response(
                "console.error('socket.io-client is not installed: run npm ci');",
                status_code=500,
                media_type="text/javascript",
            )
        return FileResponse(path, media_type="text/javascript")

    async def health(self, request: Request) -> Response:
        return JSONResponse({"ok": True, "version": self.settings.app_version})

    async def config(self, request: Request) -> Response:
        """The page's runtime config: the NEXT_PUBLIC_* equivalents and the provider's timers."""
        s = self.settings
        faults = s.faults
        return JSONResponse(
            {
                "NEXT_PUBLIC_ENABLE_WEBSOCKETS": s.enable_websockets,
                "NEXT_PUBLIC_WEBSOCKET_URL": s.websocket_url,
                "NEXT_PUBLIC_WEBSOCKET_PATH": s.websocket_path,
                "heartbeatIntervalMs": s.heartbeat_interval_ms,
                "missedPongLimit": 0 if "no-missed-pong-check" in faults else s.missed_pong_limit,
                "reconnection": "no-reconnect" not in faults,
                "reconnectionDelayMs": s.reconnect_delay_ms,
                "reconnectionDelayMaxMs": s.reconnect_delay_max_ms,
                "resync": "no-resync" not in faults,
                "dedupeResync": "duplicate-on-resync" not in faults,
                "swSkipWaiting": "sw-no-skip-waiting" not in faults,
                "version": s.app_version,
            },
            headers={"Cache-Control": "no-store"},
        )

    # Auth ----------------------------------------------------------------------------------------

    async def login(self, request: Request) -> Response:
        body = await _json_object(request)
        username, password = body.get("username"), body.get("password")
        if not isinstance(username, str) or not isinstance(password, str):
            raise HTTPException(400, 'send JSON {"username": ..., "password": ...}')
        user = self.db.check_password(username, password)
        if user is None:
            raise HTTPException(401, "wrong username or password")
        return JSONResponse(
            {
                "token": self.tokens.issue(user.id),
                "expires_in": self.tokens.ttl_s,
                "user": {"id": user.id, "username": user.username},
            }
        )

    def authed(self, handler: Callable[[Request, User], Awaitable[Response]]) -> Handler:
        async def wrapper(request: Request) -> Response:
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer":
                raise HTTPException(401, "send Authorization: Bearer <token> (from POST /api/login)")
            try:
                user = self.db.user(self.tokens.user_id(token))
            except TokenError as error:
                raise HTTPException(401, str(error)) from None
            if user is None:
                raise HTTPException(401, "unknown user")
            return await handler(request, user)

        return wrapper

    async def me(self, request: Request, user: User) -> Response:
        return JSONResponse({"id": user.id, "username": user.username})

    async def users(self, request: Request, user: User) -> Response:
        return JSONResponse([{"id": u.id, "username": u.username} for u in self.db.users()])

    # Chat ----------------------------------------------------------------------------------------

    async def chat_messages(self, request: Request, user: User) -> Response:
        """GET: the user's messages since `since_id` (resync). POST: send one (same as the socket).
        DELETE ?contains=TEXT: remove the user's own messages containing TEXT (test data cleanup)."""
        if request.method == "GET":
            since = _int_param(request, "since_id")
            messages = self.db.messages_since(user.id, since)
            return JSONResponse([self.realtime.chat_payload(m) for m in messages])
        if request.method == "DELETE":
            contains = request.query_params.get("contains", "")
            if len(contains) < 6:
                raise HTTPException(400, "'contains' must be at least 6 characters (a test-data marker)")
            return JSONResponse({"deleted": self.db.delete_messages(user.id, contains)})
        body = await _json_object(request)
        sid = request.headers.get("x-socket-id")
        ack = await self.realtime.handle_chat_from(user.id, body, origin_sid=sid)
        return JSONResponse(ack, status_code=201 if ack["ok"] else 400)

    # Orders and tasks ----------------------------------------------------------------------------

    async def orders(self, request: Request, user: User) -> Response:
        return await self._collection(request, "orders", ORDER_STATUSES)

    async def order(self, request: Request, user: User) -> Response:
        return await self._member(request, "orders", ORDER_STATUSES)

    async def tasks(self, request: Request, user: User) -> Response:
        return await self._collection(request, "tasks", TASK_STATUSES)

    async def task(self, request: Request, user: User) -> Response:
        return await self._member(request, "tasks", TASK_STATUSES)

    async def advance_order(self, request: Request, user: User) -> Response:
        item_id = int(request.path_params["item_id"])
        current = self.db.item("orders", item_id)
        if current is None or current.deleted:
            raise HTTPException(404, f"no order {item_id}")
        position = ORDER_STATUSES.index(current.status)
        next_status = ORDER_STATUSES[min(position + 1, len(ORDER_STATUSES) - 1)]
        return await self._update(request, "orders", item_id, status=next_status)

    async def _collection(self, request: Request, table: str, statuses: tuple[str, ...]) -> Response:
        if request.method == "GET":
            since = _int_param(request, "since_version")
            return JSONResponse([i.to_json() for i in self.db.items_since(table, since)])
        body = await _json_object(request)
        title = body.get("title")
        if not isinstance(title, str) or not title.strip() or len(title) > MAX_TITLE_LENGTH:
            raise HTTPException(400, f"'title' must be 1 to {MAX_TITLE_LENGTH} characters")
        item = self.db.create_item(table, title.strip(), statuses[0])
        await self._emit(table, item, request)
        return JSONResponse(item.to_json(), status_code=201)

    async def _member(self, request: Request, table: str, statuses: tuple[str, ...]) -> Response:
        item_id = int(request.path_params["item_id"])
        if request.method == "GET":
            item = self.db.item(table, item_id)
            if item is None:
                raise HTTPException(404, f"no {table[:-1]} {item_id}")
            return JSONResponse(item.to_json())
        if request.method == "DELETE":
            return await self._update(request, table, item_id, deleted=True)
        body = await _json_object(request)
        status = body.get("status")
        if status not in statuses:
            raise HTTPException(400, f"'status' must be one of {', '.join(statuses)}")
        return await self._update(request, table, item_id, status=status)

    async def _update(
        self,
        request: Request,
        table: str,
        item_id: int,
        *,
        status: str | None = None,
        deleted: bool = False,
    ) -> Response:
        item = self.db.update_item(table, item_id, status=status, deleted=deleted)
        if item is None:
            raise HTTPException(404, f"no {table[:-1]} {item_id}")
        await self._emit(table, item, request)
        return JSONResponse(item.to_json())

    async def _emit(self, table: str, item: Any, request: Request) -> None:
        # The page sends its socket id, so the `no-broadcast` fault can answer the sender only.
        sid = request.headers.get("x-socket-id")
        if table == "orders":
            await self.realtime.emit_orders_update(item, origin_sid=sid)
        else:
            await self.realtime.emit_tasks_update(item, origin_sid=sid)


async def _json_object(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError:
        raise HTTPException(400, "the body must be JSON") from None
    if not isinstance(body, dict):
        raise HTTPException(400, "the body must be a JSON object")
    return body


def _int_param(request: Request, name: str) -> int:
    raw = request.query_params.get(name, "0")
    try:
        return max(0, int(raw))
    except ValueError:
        raise HTTPException(400, f"{name} must be a whole number") from None


async def http_error(request: Request, exc: Exception) -> Response:
    """Errors as JSON `{"error": ...}`, which the page and the suite show as they are."""
    assert isinstance(exc, HTTPException)
    return JSONResponse({"error": exc.detail}, status_code=exc.status_code)


def build_starlette(api: Api) -> Starlette:
    return Starlette(routes=api.routes(), exception_handlers={HTTPException: http_error})
