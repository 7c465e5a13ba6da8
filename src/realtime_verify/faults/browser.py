"""Faults acting on one browser page's own socket: safe against any target, production included.

`SocketCutter` routes the page's WebSockets on the socket path through Playwright
(`route_web_socket`, registered before the page loads: engine.io-client captures `WebSocket` at
module load) and, when holding the page off the socket, its long-polling requests too. What it can do
(FIELD-NOTES has how each behaves, measured):

    cut()          close every open socket with a normal code: the client notices at once
    hold()         cut, and refuse every reconnection (WebSocket and polling) until release()
    half_open()    stop forwarding both ways and swallow closes: only a ping timeout notices
    zombie()       drop Socket.IO frames, let Engine.IO's ping/pong through: only the app's own
                   heartbeat can notice
    heal()         forward everything again (sockets opened from now on are healthy)

Sockets created on a reconnect are routed again and stay healthy unless `hold()` refuses them.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

from playwright.async_api import BrowserContext, Route, WebSocketRoute
from playwright.async_api import Error as PlaywrightError

NORMAL_CLOSE = 1000  # Chromium refuses 1001/1006 on the real socket: the server would keep a ghost session
Mode = str  # "pass", "half-open", "zombie"


@dataclass
class _RoutedSocket:
    page_side: WebSocketRoute
    server_side: WebSocketRoute
    mode: Mode = "pass"


@dataclass
class SocketCutter:
    """The fault controls for one browser context's sockets on the socket path."""

    context: BrowserContext
    socket_path: str
    sockets: list[_RoutedSocket] = field(default_factory=list)
    holding: bool = False
    routed: int = 0

    async def install(self) -> None:
        """Route the socket path; call before the page loads."""
        path = re.escape(self.socket_path.rstrip("/"))
        self._pattern = re.compile(rf"^wss?://[^/]+{path}/?(\?.*)?$")
        self._http = re.compile(rf"^https?://[^/]+{path}/?(\?.*)?$")
        await self.context.route_web_socket(self._pattern, self._on_socket)
        await self.context.route(self._http, self._on_poll)

    def _on_socket(self, route: WebSocketRoute) -> None:
        self.routed += 1
        if self.holding:
            # Refused: a reconnection attempt fails, as when the network is down.
            _spawn(route.close(code=NORMAL_CLOSE, reason="held by realtime-verify"))
            return
        server = route.connect_to_server()
        routed = _RoutedSocket(route, server)
        self.sockets.append(routed)
        route.on_message(_forward(routed, server))
        server.on_message(_forward(routed, route))
        route.on_close(_close_other(routed, server))
        server.on_close(_close_other(routed, route))

    async def _on_poll(self, route: Route) -> None:
        if self.holding:
            await route.abort("connectionfailed")
            return
        await route.fallback()

    async def cut(self, code: int = NORMAL_CLOSE) -> int:
        """Close every open socket of the page (both ends); returns how many."""
        open_sockets = [s for s in self.sockets if s.mode != "closed"]
        for routed in open_sockets:
            routed.mode = "closed"
            with contextlib.suppress(PlaywrightError):
                await routed.page_side.close(code=code, reason="cut by realtime-verify")
            with contextlib.suppress(PlaywrightError):
                await routed.server_side.close(code=code, reason="cut by realtime-verify")
        return len(open_sockets)

    async def hold(self) -> int:
        """Cut, and refuse every reconnection until `release()`."""
        self.holding = True
        return await self.cut()

    def release(self) -> None:
        self.holding = False

    def half_open(self) -> None:
        """Nothing flows either way on the open sockets, and nobody hears a close."""
        for routed in self.sockets:
            if routed.mode == "pass":
                routed.mode = "half-open"

    def zombie(self) -> None:
        """Only Engine.IO's own ping/pong flows on the open sockets."""
        for routed in self.sockets:
            if routed.mode == "pass":
                routed.mode = "zombie"

    def heal(self) -> None:
        self.holding = False
        for routed in self.sockets:
            if routed.mode in ("half-open", "zombie"):
                routed.mode = "pass"


def _forward(routed: _RoutedSocket, to: WebSocketRoute) -> Callable[[Any], None]:
    def forward(message: str | bytes) -> None:
        if routed.mode in ("half-open", "closed"):
            return
        if routed.mode == "zombie" and isinstance(message, str) and message.startswith("4"):
            return  # a Socket.IO packet: dropped; Engine.IO's "2"/"3" (ping/pong) pass
        to.send(message)

    return forward


def _close_other(routed: _RoutedSocket, other: WebSocketRoute) -> Callable[[int | None, str | None], None]:
    def on_close(code: int | None, reason: str | None) -> None:
        if routed.mode == "half-open":
            return  # a half-open link: the other end never hears of it
        routed.mode = "closed"
        _spawn(other.close(code=code if (code and code >= 3000) or code == NORMAL_CLOSE else NORMAL_CLOSE))

    return on_close


_tasks: set[asyncio.Future[None]] = set()


def _spawn(coroutine: Coroutine[Any, Any, None]) -> None:
    """Run a close without blocking the route handler (never block the loop while routing)."""

    async def quiet() -> None:
        with contextlib.suppress(PlaywrightError):
            await coroutine

    task = asyncio.ensure_future(quiet())
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)
