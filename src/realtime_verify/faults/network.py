"""A local TCP proxy between the suite's watcher clients and the target: drops and black holes that
act only on the suite's own connections.

The watcher keeps the target's URL (so its Host header and TLS name are right); its resolver sends
the connection to the proxy instead (`NetworkOptions.through`), which forwards bytes to the target.

    async with WatcherProxy(("app.example.com", 443)) as proxy:
        network = target.network.through(proxy.port, "app.example.com")
        ...
        proxy.drop("rst")          # every connection reset at once
        proxy.blackhole(3.0)       # nothing flows for 3 s, sockets stay open
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import struct
from types import TracebackType
from urllib.parse import urlsplit

from realtime_verify.net import NetworkOptions

READ_SIZE = 65536
MAX_BLACKHOLE_S = 600.0


class WatcherProxy:
    """Forwards every accepted connection to `upstream`; can drop them all or hold their traffic."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        self.port = 0
        self._server: asyncio.Server | None = None
        self._pairs: set[tuple[asyncio.StreamWriter, asyncio.StreamWriter]] = set()
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._timer: asyncio.TimerHandle | None = None

    async def __aenter__(self) -> WatcherProxy:
        self._server = await asyncio.start_server(self._accept, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._server is not None:
            self._server.close()
        self.drop("fin")
        if self._server is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    def drop(self, mode: str = "rst") -> int:
        """Close every connection (RST: abort; FIN: orderly); returns how many."""
        pairs = list(self._pairs)
        for client, upstream in pairs:
            for writer in (client, upstream):
                _close(writer, mode)
        self._pairs.clear()
        return len(pairs)

    def blackhole(self, seconds: float) -> None:
        """Hold all traffic both ways for `seconds`; the sockets stay open (a half-open link)."""
        if not 0 < seconds <= MAX_BLACKHOLE_S:
            raise ValueError(f"seconds must be in (0, {MAX_BLACKHOLE_S:g}]")
        self._flowing.clear()
        if self._timer is not None:
            self._timer.cancel()
        self._timer = asyncio.get_running_loop().call_later(seconds, self._flowing.set)

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            _close(writer, "rst")
            return
        pair = (writer, up_writer)
        self._pairs.add(pair)
        pipes = {
            asyncio.ensure_future(self._pipe(reader, up_writer)),
            asyncio.ensure_future(self._pipe(up_reader, writer)),
        }
        done, pending = await asyncio.wait(pipes, return_when=asyncio.FIRST_COMPLETED)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        # One side ended: end the other the same way (a reset stays a reset, as through a real proxy).
        reset = any(isinstance(task.exception(), ConnectionError) for task in done if not task.cancelled())
        self._pairs.discard(pair)
        for side in pair:
            _close(side, "rst" if reset else "fin")

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            data = await reader.read(READ_SIZE)
            if not data:
                return
            await self._flowing.wait()
            writer.write(data)
            await writer.drain()


def through_proxy(base_url: str, network: NetworkOptions, proxy: WatcherProxy) -> tuple[str, NetworkOptions]:
    """The URL and network options that send a watcher's connections through `proxy`.

    A name keeps the target's URL (Host header, TLS name) and is resolved to the proxy; an IP
    literal is never resolved (clients connect to it directly), so its URL points at the proxy.
    """
    parts = urlsplit(base_url)
    host = parts.hostname or ""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return base_url, network.through(proxy.port, host)
    return parts._replace(netloc=f"127.0.0.1:{proxy.port}").geturl(), network


def _close(writer: asyncio.StreamWriter, mode: str) -> None:
    if mode == "rst":
        sock = writer.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()
    else:
        writer.close()
