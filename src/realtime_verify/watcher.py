"""The watcher: a python-socketio client, logged in as a test user, that records every event."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import engineio
import engineio.packet
import socketio

from realtime_verify.errors import ConnectFailed, WaitTimeout
from realtime_verify.net import NetworkOptions

Predicate = Callable[[Any], bool]


@dataclass(frozen=True)
class ReceivedEvent:
    name: str
    data: Any
    t_ms: float  # epoch milliseconds, comparable with the pages' timestamps


class _RecordingEngineIO(engineio.AsyncClient):  # type: ignore[misc]
    """Engine.IO's client, noting when each server ping arrives (a fault check times a late one)."""

    pings: list[float]
    ping_waiters: list[asyncio.Future[None]]

    async def _receive_packet(self, pkt: Any) -> None:
        if pkt.packet_type == engineio.packet.PING:
            self.pings = [*getattr(self, "pings", [])[-50:], time.time() * 1000]
            for waiter in getattr(self, "ping_waiters", []):
                if not waiter.done():
                    waiter.set_result(None)
            self.ping_waiters = []
        await super()._receive_packet(pkt)


RECONNECT_WAIT_S = 10.0  # how long a reconnect waits for the server's CONNECT (a browser: 20 s)


class _WatcherClient(socketio.AsyncClient):  # type: ignore[misc]
    """Closes a long-polling session at once: a graceful close waits for the pending poll to
    return, up to pingInterval + pingTimeout, which would stall every run against a target whose
    upgrade is broken. Reconnects wait RECONNECT_WAIT_S for CONNECT, not python-socketio's 1 s."""

    def _engineio_client_class(self) -> type[_RecordingEngineIO]:
        return _RecordingEngineIO

    async def connect(self, *args: Any, wait_timeout: float = RECONNECT_WAIT_S, **kwargs: Any) -> None:
        # python-socketio's reconnect loop calls connect() without wait_timeout: under a reconnect
        # storm a 1 s wait abandons connections the server was about to accept, and the retries
        # make the storm worse (bench/RESULTS.md: 787 of 1000 back in 10 s with 1 s, 1000 with 10 s).
        await super().connect(*args, wait_timeout=wait_timeout, **kwargs)

    async def disconnect(self) -> None:
        if self.eio.state == "connected" and self.eio.current_transport == "polling":
            await self.eio.disconnect(abort=True)
            return
        await super().disconnect()


class Watcher:
    """Connects like a browser would and keeps a timestamped log of every event it receives."""

    def __init__(
        self,
        name: str,
        url: str,
        socketio_path: str,
        network: NetworkOptions,
        auth: dict[str, Any] | None = None,
        transports: list[str] | None = None,
        headers: dict[str, str] | None = None,
        reconnect: bool = False,
    ) -> None:
        self.name = name
        self.url = url
        self.socketio_path = socketio_path.strip("/")
        self.auth = auth
        self.transports = transports
        self.headers = dict(headers or {})
        self.events: list[ReceivedEvent] = []
        self.disconnects: list[tuple[float, str]] = []
        self.connect_errors: list[Any] = []  # the server's reasons for refusing us
        # What the connection went through (epoch ms): connect, disconnect and why, connect errors.
        self.timeline: list[dict[str, Any]] = []
        self.connects = 0
        self._changed = asyncio.Condition()
        # Reconnection is off unless a fault check wants to see it (python-socketio's own backoff:
        # 1 s doubling to 5 s, randomised by half).
        self.client = _WatcherClient(reconnection=reconnect, http_session=network.session, handle_sigint=False)
        self.client.on("*", self._on_event)
        self.client.on("connect", self._on_connect)
        self.client.on("disconnect", self._on_disconnect)
        self.client.on("connect_error", self._on_connect_error)

    async def _on_event(self, event: str, *args: Any) -> None:
        data = args[0] if len(args) == 1 else list(args)
        self.events.append(ReceivedEvent(event, data, time.time() * 1000))
        async with self._changed:
            self._changed.notify_all()

    async def _note(self, what: str, detail: str = "") -> None:
        self.timeline.append({"t": time.time() * 1000, "what": what, "detail": detail})
        async with self._changed:
            self._changed.notify_all()

    async def _on_connect(self) -> None:
        self.connects += 1
        await self._note("connect", str(self.client.transport()))

    async def _on_disconnect(self, reason: Any = None) -> None:
        self.disconnects.append((time.time() * 1000, str(reason)))
        await self._note("disconnect", str(reason))

    async def _on_connect_error(self, data: Any = None) -> None:
        self.connect_errors.append(data)
        await self._note("connect-error", str(data)[:200])

    async def wait_disconnect(self, timeout_s: float) -> bool:
        """Wait until the client loses its connection; False when it stayed up for `timeout_s`."""
        seen = len(self.disconnects)
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(lambda: len(self.disconnects) > seen), timeout_s)
            except TimeoutError:
                return False
        return True

    async def wait_connects(self, count: int, timeout_s: float) -> bool:
        """Wait until the client has connected `count` times in all; False when it has not in time."""
        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(lambda: self.connects >= count), timeout_s)
            except TimeoutError:
                return False
        return True

    async def connect(self, timeout_s: float = 10.0) -> None:
        """Connect; ConnectFailed says whether the server refused (and its words) or never answered."""
        try:
            await asyncio.wait_for(
                self.client.connect(
                    self.url,
                    auth=self.auth,
                    # A fresh dict on every (re)connect: python-engineio deletes the Cookie header
                    # from the dict it is given, so a reconnect would go without the session.
                    headers=self._fresh_headers,
                    transports=self.transports,
                    socketio_path=self.socketio_path,
                    wait_timeout=timeout_s,
                ),
                timeout_s + 5,
            )
        except socketio.exceptions.ConnectionError as error:
            await self._close_http()
            text = str(error)
            if "namespaces failed to connect" in text:
                raise ConnectFailed(
                    f"the server refused watcher {self.name}'s socket: {self.refusal() or text}",
                    refused=True,
                    reason=self.refusal(),
                ) from None
            if "Unexpected connection error" in text:
                raise ConnectFailed(
                    f"the server neither accepted nor refused watcher {self.name}'s socket within {timeout_s:g} s"
                    " (no CONNECT nor CONNECT_ERROR packet): its connect handler may have raised an exception",
                    refused=False,
                ) from None
            detail = self.refusal()
            raise ConnectFailed(
                f"watcher {self.name} could not connect to {self.url}: {text}" + (f" ({detail})" if detail else ""),
                refused=False,
                reason=detail,
            ) from None
        except TimeoutError:
            await self._close_http()
            raise ConnectFailed(
                f"watcher {self.name} got no answer from {self.url} within {timeout_s + 5:g} s", refused=False
            ) from None
        except (aiohttp.ClientError, RuntimeError, OSError) as error:
            # A transport that failed underneath python-engineio ("Connection closed.", a reset).
            await self._close_http()
            raise ConnectFailed(
                f"watcher {self.name} could not connect to {self.url}: {type(error).__name__}: {error}",
                refused=False,
            ) from None
        except (ValueError, KeyError, TypeError) as error:
            # python-engineio could not read the answer: whatever serves the path does not speak Engine.IO.
            await self._close_http()
            raise ConnectFailed(
                f"watcher {self.name}: {self.url} answered with something that is not Engine.IO"
                f" ({type(error).__name__}: {error}); is socket.io served at target.socket_path?",
                refused=False,
            ) from None
        except BaseException:
            await self._close_http()
            raise

    @property
    def pings(self) -> list[float]:
        """When the server's Engine.IO pings arrived (epoch ms), the last fifty."""
        return list(getattr(self.client.eio, "pings", []))

    async def wait_ping(self, timeout_s: float) -> float | None:
        """Wait until the next server ping arrives; when it arrived (epoch ms), None if none came in time."""
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        eio = self.client.eio
        eio.ping_waiters = [*getattr(eio, "ping_waiters", []), waiter]
        try:
            await asyncio.wait_for(waiter, timeout_s)
        except TimeoutError:
            return None
        return float(eio.pings[-1])

    def _fresh_headers(self) -> dict[str, str]:
        return dict(self.headers)

    @property
    def transport(self) -> str:
        return str(self.client.transport()) if self.client.connected else ""

    @property
    def connected(self) -> bool:
        return bool(self.client.connected)

    async def close(self) -> None:
        """Disconnect, and stop any reconnection in progress (a fault check may end mid-retry)."""
        await self.client.shutdown()
        await self._close_http()

    async def _close_http(self) -> None:
        # A failed connect leaves python-engineio's aiohttp session open: close it ourselves.
        http = getattr(self.client.eio, "http", None)
        if http is not None and not http.closed:
            await http.close()

    async def emit(self, event: str, data: Any, timeout_s: float = 5.0) -> Any:
        """Emit and wait for the server's acknowledgement; WaitTimeout when none comes."""
        try:
            return await self.client.call(event, data, timeout=timeout_s)
        except (TimeoutError, socketio.exceptions.TimeoutError):
            raise WaitTimeout(
                f"watcher {self.name} emitted {event!r} and got no acknowledgement within {timeout_s:g} s"
                + ("" if self.client.connected else " (it is disconnected)")
            ) from None

    async def send(self, event: str, data: Any) -> None:
        """Emit without asking for an acknowledgement."""
        await self.client.emit(event, data)

    def refusal(self) -> str:
        """The server's own words when it refused the connection (its connect_error data)."""
        words = []
        for reason in self.connect_errors:
            if isinstance(reason, dict) and "message" in reason:
                extra = {k: v for k, v in reason.items() if k != "message"}
                words.append(str(reason["message"]) + (f" {extra}" if extra else ""))
            else:
                words.append(str(reason))
        return "; ".join(words)

    def received(self, event: str, predicate: Predicate | None = None) -> list[ReceivedEvent]:
        return [e for e in self.events if e.name == event and (predicate is None or predicate(e.data))]

    async def wait_until(
        self, predicate: Callable[[ReceivedEvent], bool], timeout_s: float = 5.0, what: str = ""
    ) -> ReceivedEvent:
        """The first received event `predicate` accepts; on timeout say what never came and what did."""

        def match() -> ReceivedEvent | None:
            return next((e for e in self.events if predicate(e)), None)

        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(match), timeout_s)
            except TimeoutError:
                counts = Counter(e.name for e in self.events)
                seen = ", ".join(f"{name} x{n}" for name, n in counts.items()) or "no events"
                raise WaitTimeout(
                    f"watcher {self.name} waited {timeout_s:g} s for {what or 'an event'}; it received {seen}"
                    + ("" if self.client.connected else "; it is disconnected")
                ) from None
        result = match()
        assert result is not None
        return result

    async def wait_for(
        self,
        event: str,
        predicate: Predicate | None = None,
        timeout_s: float = 5.0,
        what: str = "",
    ) -> ReceivedEvent:
        """The first `event` whose data matches; on timeout say what never came and what did."""

        def match() -> ReceivedEvent | None:
            found = self.received(event, predicate)
            return found[0] if found else None

        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(match), timeout_s)
            except TimeoutError:
                counts = Counter(e.name for e in self.events)
                seen = ", ".join(f"{name} x{n}" for name, n in counts.items()) or "no events"
                raise WaitTimeout(
                    f"watcher {self.name} waited {timeout_s:g} s for {event!r}"
                    + (f" ({what})" if what else "")
                    + f"; it received {seen}"
                    + (" (none matching)" if counts.get(event) else "")
                    + ("" if self.client.connected else "; it is disconnected")
                ) from None
        result = match()
        assert result is not None
        return result
