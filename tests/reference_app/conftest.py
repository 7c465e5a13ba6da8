"""The reference app as a real process on a free loopback port, with its own database."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
import socketio

PASSWORDS = {"alice": "alice-pw-1", "bob": "bob-pw-1", "carol": "carol-pw-1"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class RefApp:
    """One reference app process; `restart()` keeps its database and secret."""

    workdir: Path
    env: dict[str, str] = field(default_factory=dict)
    port: int = 0
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.port = self.port or _free_port()
        env = {
            **os.environ,
            "RA_DATABASE": str(self.workdir / "app.sqlite3"),
            "RA_SECRET_KEY": "test-secret-key",
            "RA_USERS": ",".join(f"{u}:{p}" for u, p in PASSWORDS.items()),
            "RA_PING_INTERVAL_S": "1",  # a polling client disconnects at the next ping
            "RA_PING_TIMEOUT_S": "2",
            **self.env,
        }
        log = (self.workdir / "app.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "reference_app", "--port", str(self.port)],
            env=env,
            stdout=log,
            stderr=log,
        )
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"reference app exited: {(self.workdir / 'app.log').read_text()[-2000:]}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return
            except OSError:
                time.sleep(0.02)  # readiness poll, bounded by the deadline
        raise RuntimeError("reference app did not listen within 15 s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    def restart(self) -> None:
        self.stop()
        self.start()


@pytest.fixture(scope="module")
def ref_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RefApp]:
    app = RefApp(tmp_path_factory.mktemp("ref-app"))
    app.start()
    yield app
    app.stop()


@pytest.fixture
def start_app(tmp_path: Path) -> Iterator[Any]:
    """Factory for an app with its own env (faults); every one started is stopped."""
    apps: list[RefApp] = []

    def start(**env: str) -> RefApp:
        app = RefApp(tmp_path / f"app{len(apps)}", env)
        app.workdir.mkdir()
        app.start()
        apps.append(app)
        return app

    yield start
    for app in apps:
        app.stop()


@pytest_asyncio.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def login(http: aiohttp.ClientSession, app: RefApp, user: str) -> tuple[str, int]:
    async with http.post(f"{app.url}/api/login", json={"username": user, "password": PASSWORDS[user]}) as resp:
        assert resp.status == 200, await resp.text()
        data = await resp.json()
    return data["token"], data["user"]["id"]


class Client:
    """A python-socketio client that keeps every event it receives, with bounded waits on them."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False, handle_sigint=False)
        self.events: list[tuple[str, Any]] = []
        self.connect_errors: list[Any] = []
        self._changed = asyncio.Condition()
        self.sio.on("*", self._on_event)
        self.sio.on("connect_error", self.connect_errors.append)

    async def _on_event(self, event: str, data: Any = None) -> None:
        self.events.append((event, data))
        async with self._changed:
            self._changed.notify_all()

    def received(self, event: str) -> list[Any]:
        return [data for name, data in self.events if name == event]

    async def wait_for(
        self, event: str, match: Callable[[Any], bool] = lambda _: True, what: str = "", timeout_s: float = 3.0
    ) -> Any:
        """The first `event` whose payload matches; on timeout, say what came instead."""

        def found() -> Any:
            return next((data for data in self.received(event) if match(data)), None)

        async with self._changed:
            try:
                await asyncio.wait_for(self._changed.wait_for(lambda: found() is not None), timeout_s)
            except TimeoutError:
                raise AssertionError(
                    f"no {event!r} {what} within {timeout_s} s; received {[name for name, _ in self.events]}"
                ) from None
        return found()


@pytest_asyncio.fixture
async def clients() -> AsyncIterator[Any]:
    """Factory: `await clients(app, token)` gives a connected Client; all are closed after."""
    made: list[Client] = []

    async def connect(
        app: RefApp,
        token: str | None,
        transports: list[str] | None = None,
        client: Client | None = None,
        path: str = "socket.io",
    ) -> Client:
        client = client or Client()
        made.append(client)
        auth = {"token": token} if token is not None else None
        await client.sio.connect(
            app.url, auth=auth, transports=transports or ["websocket"], socketio_path=path, wait_timeout=5
        )
        return client

    yield connect
    for client in made:
        if client.sio.connected:
            await client.sio.disconnect()
        http = getattr(client.sio.eio, "http", None)
        if http is not None and not http.closed:
            await http.close()
