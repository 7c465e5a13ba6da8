"""The edge emulator: a small stand-in for Cloudflare in front of nginx, and the fault injector.

It terminates TLS for a mapped name (the browser sees https/wss as in production), forwards HTTP
with h11 and WebSocket upgrades as raw bytes, adds `cf-ray` to every response, and can be told,
while connections are open, to:

- drop every connection (FIN or RST), as Cloudflare does when it restarts its servers;
- refuse new connections for N seconds (reset before the TLS handshake);
- black-hole traffic for N seconds: sockets stay open, nothing flows (a half-open link);
- add latency to every chunk forwarded;
- answer the socket path with a challenge page (403, `cf-mitigated: challenge`);
- mark socket-path responses as cached (`cf-cache-status: HIT`);
- close connections idle for longer than its idle timeout (Cloudflare's is about 100 s);
- forward without any Cloudflare header, as a DNS-only (grey-cloud) record would;
- refuse WebSocket upgrades, as a zone with WebSockets off does.

One module on purpose: a connection's life (TLS, HTTP through h11, the switch to raw bytes, the
faults that cut it) reads best in one place.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import os
import socket
import ssl
import struct
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Literal

import h11

logger = logging.getLogger("realtime_verify.edge")

DropMode = Literal["fin", "rst"]
READ_SIZE = 65536

CHALLENGE_PAGE = b"""<!DOCTYPE html>
<html lang="en-US"><head><title>Just a moment...</title>
<meta http-equiv="Content-Type" content="text/html; charset=UTF-8"></head>
<body><h1>Checking if the site connection is secure</h1>
<p>app needs to review the security of your connection before proceeding.</p>
<noscript>Enable JavaScript and cookies to continue</noscript></body></html>
"""


@dataclass
class EdgeBehaviour:
    """What the edge does to traffic; changeable while it runs."""

    challenge_socket: bool = False
    cache_socket: bool = False
    cloudflare_headers: bool = True
    latency_ms: float = 0.0
    idle_timeout_s: float | None = 100.0
    websockets: bool = True  # off: upgrade requests reach the origin without their upgrade headers


@dataclass
class EdgeStats:
    accepted: int = 0
    refused: int = 0
    requests: int = 0
    upgrades: int = 0
    challenged: int = 0
    dropped: int = 0
    idle_closed: int = 0


class EdgeEmulator:
    """Accepts TLS on loopback and forwards to one upstream (nginx) over plain TCP."""

    def __init__(
        self,
        upstream: tuple[str, int],
        ssl_context: ssl.SSLContext,
        socket_path: str = "/socket.io/",
        behaviour: EdgeBehaviour | None = None,
    ) -> None:
        self.upstream = upstream
        self.ssl_context = ssl_context
        self.socket_path = socket_path if socket_path.endswith("/") else socket_path + "/"
        self.behaviour = behaviour or EdgeBehaviour()
        self.stats = EdgeStats()
        self.port = 0
        self._server: asyncio.Server | None = None
        self._connections: set[_EdgeConnection] = set()
        self._flowing = asyncio.Event()
        self._flowing.set()
        self._blackhole_timer: asyncio.TimerHandle | None = None
        self._refuse_until = 0.0
        self._ray_ids = itertools.count(int.from_bytes(os.urandom(8), "big"))

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen (TLS is started per connection, so refusals happen before the handshake)."""
        # A deep accept queue: asyncio's default (100) overflows under a reconnect storm, and each dropped
        # SYN costs the client a 1-3 s kernel retry (bench/RESULTS.md: 876 drops at 2000 clients, 0 with this).
        self._server = await asyncio.start_server(self._on_client, host, port, reuse_address=True, backlog=4096)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        self.drop_all("fin")
        if self._server is not None:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._server.wait_closed(), 2)

    # Fault controls ------------------------------------------------------------------------------

    def drop_all(self, mode: DropMode = "fin") -> int:
        """Close every open connection (FIN: orderly; RST: abort); return how many."""
        dropped = list(self._connections)
        for connection in dropped:
            connection.abort(mode)
        self.stats.dropped += len(dropped)
        logger.info("dropped %d connection(s) with %s", len(dropped), mode.upper())
        return len(dropped)

    def refuse_for(self, seconds: float) -> None:
        """Reset every new connection for `seconds`."""
        self._refuse_until = asyncio.get_running_loop().time() + seconds

    def blackhole_for(self, seconds: float) -> None:
        """Hold all traffic, in both directions and on every connection, for `seconds`."""
        self._flowing.clear()
        if self._blackhole_timer is not None:
            self._blackhole_timer.cancel()
        self._blackhole_timer = asyncio.get_running_loop().call_later(seconds, self.resume)

    def resume(self) -> None:
        """End a black hole now; held data flows on."""
        if self._blackhole_timer is not None:
            self._blackhole_timer.cancel()
            self._blackhole_timer = None
        self._flowing.set()

    def reset(self) -> None:
        """Back to healthy: no black hole, no refusal, default behaviour (idle timeout kept)."""
        self.resume()
        self._refuse_until = 0.0
        idle = self.behaviour.idle_timeout_s
        self.behaviour = EdgeBehaviour(idle_timeout_s=idle)

    def status(self) -> dict[str, object]:
        return {
            "port": self.port,
            "connections": len(self._connections),
            "websockets": sum(1 for c in self._connections if c.upgraded),
            "blackholed": not self._flowing.is_set(),
            "behaviour": asdict(self.behaviour),
            "stats": asdict(self.stats),
        }

    # Internals -----------------------------------------------------------------------------------

    async def wait_flowing(self) -> None:
        await self._flowing.wait()

    def new_ray(self) -> str:
        return f"{next(self._ray_ids) & 0xFFFFFFFFFFFFFFFF:016x}-EMU"

    def is_socket_path(self, target: bytes) -> bool:
        path = target.split(b"?", 1)[0].decode("latin-1")
        return path.startswith(self.socket_path) or path == self.socket_path.rstrip("/")

    async def _on_client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.stats.accepted += 1
        if asyncio.get_running_loop().time() < self._refuse_until:
            self.stats.refused += 1
            _abort(writer, "rst")
            return
        connection = _EdgeConnection(self, reader, writer)
        self._connections.add(connection)
        try:
            await connection.run()
        except (OSError, ssl.SSLError, h11.ProtocolError, asyncio.IncompleteReadError) as error:
            logger.debug("connection ended: %r", error)
        finally:
            self._connections.discard(connection)
            connection.close()


def _abort(writer: asyncio.StreamWriter, mode: DropMode) -> None:
    if mode == "rst":
        sock = writer.get_extra_info("socket")
        if sock is not None:
            # SO_LINGER with a zero timeout turns close() into a TCP RST.
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        writer.transport.abort()
    else:
        writer.close()


class _EdgeConnection:
    """One client connection: HTTP requests through h11, then raw bytes after an upgrade."""

    def __init__(self, edge: EdgeEmulator, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.edge = edge
        self.reader = reader
        self.writer = writer
        self.client = h11.Connection(h11.SERVER)
        self.upstream: h11.Connection | None = None
        self.up_reader: asyncio.StreamReader | None = None
        self.up_writer: asyncio.StreamWriter | None = None
        self.upgraded = False
        self.peer = (writer.get_extra_info("peername") or ("127.0.0.1", 0))[0]
        self._closed = False
        self._idle_timer: asyncio.TimerHandle | None = None
        self._last_activity = 0.0

    async def run(self) -> None:
        # A black hole also swallows new connections: accepted, but not even the handshake flows.
        await self.edge.wait_flowing()
        self.touch()
        await self.writer.start_tls(self.edge.ssl_context)
        while not self._closed:
            event = await self._next_event(self.client, self.reader)
            if isinstance(event, h11.ConnectionClosed):
                return
            if not isinstance(event, h11.Request):
                return
            if not await self._serve(event):
                return

    # Activity and idle timeout -------------------------------------------------------------------

    def touch(self) -> None:
        loop = asyncio.get_running_loop()
        self._last_activity = loop.time()
        idle = self.edge.behaviour.idle_timeout_s
        if idle and self._idle_timer is None:
            self._idle_timer = loop.call_later(idle, self._check_idle)

    def _check_idle(self) -> None:
        self._idle_timer = None
        idle = self.edge.behaviour.idle_timeout_s
        if not idle or self._closed:
            return
        loop = asyncio.get_running_loop()
        remaining = self._last_activity + idle - loop.time()
        if remaining > 0:
            self._idle_timer = loop.call_later(remaining, self._check_idle)
            return
        logger.info("closing a connection idle for %.1f s", idle)
        self.edge.stats.idle_closed += 1
        self.abort("fin")

    def abort(self, mode: DropMode) -> None:
        if self._closed:
            return
        self._closed = True
        _abort(self.writer, mode)
        if self.up_writer is not None:
            _abort(self.up_writer, mode)

    def close(self) -> None:
        if self._idle_timer is not None:
            self._idle_timer.cancel()
        if not self._closed:
            self._closed = True
            self.writer.close()
        if self.up_writer is not None:
            self.up_writer.close()

    # HTTP ----------------------------------------------------------------------------------------

    async def _read(self, reader: asyncio.StreamReader) -> bytes:
        data = await reader.read(READ_SIZE)
        self.touch()
        await self.edge.wait_flowing()
        latency = self.edge.behaviour.latency_ms
        if latency > 0:
            await asyncio.sleep(latency / 1000)
        return data

    async def _next_event(self, conn: h11.Connection, reader: asyncio.StreamReader) -> object:
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(await self._read(reader))
                continue
            return event

    async def _send(self, conn: h11.Connection, writer: asyncio.StreamWriter, event: h11.Event) -> None:
        data = conn.send(event)
        if data:
            writer.write(data)
            await writer.drain()

    async def _serve(self, request: h11.Request) -> bool:
        """Answer one request; False when the connection is done."""
        edge = self.edge
        edge.stats.requests += 1
        ray = edge.new_ray()
        on_socket_path = edge.is_socket_path(request.target)
        if on_socket_path and edge.behaviour.challenge_socket:
            return await self._challenge(ray)
        await self._ensure_upstream()
        assert self.upstream is not None
        assert self.up_reader is not None
        assert self.up_writer is not None
        await self._send(self.upstream, self.up_writer, self._forwarded_request(request, ray))
        while True:
            event = await self._next_event(self.client, self.reader)
            if isinstance(event, h11.Data | h11.EndOfMessage):
                await self._send(self.upstream, self.up_writer, event)
            if isinstance(event, h11.EndOfMessage):
                break
            if isinstance(event, h11.ConnectionClosed):
                return False
        response = await self._next_event(self.upstream, self.up_reader)
        while isinstance(response, h11.InformationalResponse) and response.status_code != 101:
            response = await self._next_event(self.upstream, self.up_reader)
        if isinstance(response, h11.InformationalResponse):
            return await self._switch(response, ray, on_socket_path)
        if not isinstance(response, h11.Response):
            return False
        await self._send(
            self.client,
            self.writer,
            h11.Response(
                status_code=response.status_code,
                headers=self._response_headers(response.headers, ray, on_socket_path),
                reason=response.reason,
            ),
        )
        while True:
            event = await self._next_event(self.upstream, self.up_reader)
            if isinstance(event, h11.Data | h11.EndOfMessage):
                await self._send(self.client, self.writer, event)
            if isinstance(event, h11.EndOfMessage):
                break
            if isinstance(event, h11.ConnectionClosed):
                return False
        return self._next_cycle()

    def _next_cycle(self) -> bool:
        if self.client.our_state is not h11.DONE or self.client.their_state is not h11.DONE:
            return False
        self.client.start_next_cycle()
        upstream = self.upstream
        if upstream is not None and upstream.our_state is h11.DONE and upstream.their_state is h11.DONE:
            upstream.start_next_cycle()
        elif self.up_writer is not None:
            self.up_writer.close()
            self.upstream = self.up_reader = self.up_writer = None
        return True

    async def _ensure_upstream(self) -> None:
        if self.upstream is None:
            self.up_reader, self.up_writer = await asyncio.open_connection(*self.edge.upstream)
            self.upstream = h11.Connection(h11.CLIENT)

    def _forwarded_request(self, request: h11.Request, ray: str) -> h11.Request:
        dropped = {b"x-forwarded-proto"}
        if not self.edge.behaviour.websockets:
            # The zone's WebSockets setting is off: the upgrade never reaches the origin.
            dropped |= {b"upgrade", b"connection"}
        headers = [(k, v) for k, v in request.headers if k not in dropped]
        headers.append((b"x-forwarded-proto", b"https"))
        if self.edge.behaviour.cloudflare_headers:
            headers += [
                (b"cf-ray", ray.encode()),
                (b"cf-connecting-ip", self.peer.encode()),
                (b"cf-visitor", b'{"scheme":"https"}'),
                (b"x-forwarded-for", self.peer.encode()),
            ]
        return h11.Request(method=request.method, target=request.target, headers=headers)

    def _response_headers(
        self, headers: Sequence[tuple[bytes, bytes]], ray: str, on_socket_path: bool
    ) -> list[tuple[bytes, bytes]]:
        if not self.edge.behaviour.cloudflare_headers:
            return list(headers)
        kept = [(k, v) for k, v in headers if k not in (b"server", b"cf-ray", b"cf-cache-status")]
        kept += [(b"server", b"cloudflare"), (b"cf-ray", ray.encode())]
        if on_socket_path:
            cache = b"HIT" if self.edge.behaviour.cache_socket else b"DYNAMIC"
            kept.append((b"cf-cache-status", cache))
        return kept

    async def _challenge(self, ray: str) -> bool:
        self.edge.stats.challenged += 1
        while True:
            event = await self._next_event(self.client, self.reader)
            if isinstance(event, h11.EndOfMessage):
                break
            if isinstance(event, h11.ConnectionClosed):
                return False
        headers = [
            (b"content-type", b"text/html; charset=UTF-8"),
            (b"content-length", str(len(CHALLENGE_PAGE)).encode()),
            (b"cache-control", b"private, max-age=0, no-store, no-cache, must-revalidate"),
            (b"cf-mitigated", b"challenge"),
            (b"server", b"cloudflare"),
            (b"cf-ray", ray.encode()),
        ]
        # A challenge answers an upgrade request too: h11 then leaves MIGHT_SWITCH_PROTOCOL.
        await self._send(self.client, self.writer, h11.Response(status_code=403, headers=headers))
        await self._send(self.client, self.writer, h11.Data(data=CHALLENGE_PAGE))
        await self._send(self.client, self.writer, h11.EndOfMessage())
        return self._next_cycle()

    # After "101 Switching Protocols": raw bytes both ways --------------------------------------

    async def _switch(self, response: h11.InformationalResponse, ray: str, on_socket_path: bool) -> bool:
        assert self.upstream is not None
        assert self.up_reader is not None
        assert self.up_writer is not None
        await self._send(
            self.client,
            self.writer,
            h11.InformationalResponse(
                status_code=101,
                headers=self._response_headers(response.headers, ray, on_socket_path),
                reason=response.reason,
            ),
        )
        self.upgraded = True
        self.edge.stats.upgrades += 1
        client_rest = self.client.trailing_data[0]
        upstream_rest = self.upstream.trailing_data[0]
        to_upstream = asyncio.create_task(self._pipe(self.reader, self.up_writer, client_rest))
        to_client = asyncio.create_task(self._pipe(self.up_reader, self.writer, upstream_rest))
        try:
            await asyncio.wait({to_upstream, to_client}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (to_upstream, to_client):
                task.cancel()
            await asyncio.gather(to_upstream, to_client, return_exceptions=True)
        return False

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, first: bytes) -> None:
        """Copy one direction; latency is a delivery schedule, so it delays without throttling."""
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()

        async def deliver() -> None:
            while True:
                due, data = await queue.get()
                if not data:
                    return
                delay = due - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
                await self.edge.wait_flowing()
                writer.write(data)
                await writer.drain()

        delivery = asyncio.create_task(deliver())
        try:
            if first:
                queue.put_nowait((loop.time(), first))
            while not delivery.done():
                data = await reader.read(READ_SIZE)
                self.touch()
                queue.put_nowait((loop.time() + self.edge.behaviour.latency_ms / 1000, data))
                if not data:
                    break
            await delivery
        finally:
            delivery.cancel()
