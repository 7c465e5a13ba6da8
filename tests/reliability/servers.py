"""Hostile and broken servers for the bad-input corpus, one process each, on a free loopback port.

    python -m tests.reliability.servers KIND [--upstream URL] [options]   # prints "ready PORT"

Kinds that stand alone:

    plain        an ordinary web site: 200 text/html on every path, no socket.io anywhere
    challenge    every path answers a Cloudflare challenge (403, cf-mitigated: challenge)
    untrusted    HTTPS with a certificate from a CA nobody trusts
    self-signed  HTTPS with a self-signed certificate
    silent       accepts TCP connections and never answers a byte
    html-api     200 text/html on every path (a Cloudflare API behind a captive portal or login page)

`proxy` stands in front of a real app (`--upstream`, the reference app) and misbehaves as told:

    --slow S            every request (page, API, polling, WebSocket upgrade) waits S seconds first
    --slow-upgrade S    only WebSocket upgrades wait S seconds (the rest is fast)
    --stall-root        GET / sends its headers and a first chunk, then never finishes
    --login MODE        POST /api/login: html (200 text/html), echo (401 echoing the request body),
                        echo-long (the same after a long error text), reject-b (401 for bob only)
    --ws-close-after S  every proxied WebSocket is closed S seconds after it opened
    --ws-cut-on TEXT    a WebSocket is closed when the server sends it a frame holding TEXT (the frame is lost)
    --ws-garbage        every frame the server sends on a WebSocket is replaced by bytes that are not Engine.IO
    --refuse-sockets    every Socket.IO CONNECT loses its credentials, so the app refuses every socket
    --drop-acks         the server's acknowledgements (Socket.IO ACK packets) never reach the client
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import ipaddress
import json
import re
import ssl
import sys
import tempfile
from pathlib import Path

import aiohttp
import trustme
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "content-length",
    "content-encoding",
    "accept-encoding",
}
PAGE = b"<!doctype html><title>Welcome</title><p>an ordinary web page, no socket.io here"
CHALLENGE = b"<!DOCTYPE html><title>Just a moment...</title><div id=challenge-platform></div>"
GARBAGE = "\x00\xff garbage, not Engine.IO \xfe"
RECORD_SEPARATOR = "\x1e"
ECHO_CUT = 120  # where realtime-verify cuts a login answer it quotes
# A Socket.IO CONNECT packet inside an Engine.IO message: "40", an optional namespace, the auth JSON.
CONNECT = re.compile(r"^40(/[^,{]*,)?\{.*\}$", re.DOTALL)


def _html(status: int = 200, body: bytes = PAGE, **headers: str) -> web.Response:
    return web.Response(status=status, body=body, content_type="text/html", headers=headers)


# Stand-alone kinds --------------------------------------------------------------------------------


def plain_app() -> web.Application:
    async def page(request: web.Request) -> web.Response:
        return _html()

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", page)
    return app


def challenge_app() -> web.Application:
    async def challenge(request: web.Request) -> web.Response:
        return _html(403, CHALLENGE, **{"cf-mitigated": "challenge", "cf-ray": "0123456789abcdef-TST"})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", challenge)
    return app


def untrusted_context() -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    trustme.CA().issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


def self_signed_context() -> ssl.SSLContext:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .sign(key, hashes.SHA256())
    )
    folder = Path(tempfile.mkdtemp(prefix="rv-reliability-cert-"))
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_file, key_file)
    cert_file.unlink()
    key_file.unlink()
    folder.rmdir()
    return context


async def serve_silent(port_holder: list[int]) -> None:
    """Accept connections and never answer: a firewall that swallows packets, a hung server."""
    held: list[asyncio.StreamWriter] = []

    async def hold(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)
        await reader.read()  # until the client gives up

    server = await asyncio.start_server(hold, "127.0.0.1", 0)
    port_holder.append(server.sockets[0].getsockname()[1])


# The misbehaving proxy ----------------------------------------------------------------------------


class Proxy:
    """A reverse proxy to a real app that misbehaves as its options say."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.upstream = args.upstream.rstrip("/")
        self.args = args
        self.http: aiohttp.ClientSession | None = None

    def app(self) -> web.Application:
        app = web.Application(client_max_size=16 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        app.on_startup.append(self._open)
        app.on_cleanup.append(self._close)
        return app

    async def _open(self, app: web.Application) -> None:
        self.http = aiohttp.ClientSession(
            auto_decompress=False, timeout=aiohttp.ClientTimeout(total=None, sock_connect=5)
        )

    async def _close(self, app: web.Application) -> None:
        if self.http is not None:
            await self.http.close()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        if self.args.slow:
            await asyncio.sleep(self.args.slow)
        if request.method == "POST" and request.path == "/api/login" and self.args.login:
            answer = await self.login(request)
            if answer is not None:
                return answer
        if self.args.stall_root and request.method == "GET" and request.path == "/":
            return await self.stall(request)
        if request.headers.get("Upgrade", "").lower() == "websocket":
            if self.args.slow_upgrade:
                await asyncio.sleep(self.args.slow_upgrade)
            return await self.websocket(request)
        return await self.forward(request)

    async def login(self, request: web.Request) -> web.Response | None:
        body = await request.read()
        mode = self.args.login
        if mode == "html":
            return _html(200, b"<!doctype html><title>Sign in</title><form method=post></form>")
        if mode == "echo":
            return web.Response(status=401, text="invalid credentials in " + body.decode(errors="replace"))
        if mode == "echo-long":
            # An OAuth-style error that quotes the request, its description just long enough that a
            # message cut after 120 characters ends in the middle of the password.
            sent = json.loads(body or b"{}")
            password = str(sent.get("password", ""))

            def answer(description: str) -> str:
                request = {"username": sent.get("username"), "password": password}
                return json.dumps({"error": "invalid_grant", "error_description": description, "request": request})

            pad = max(0, ECHO_CUT - len(password) // 2 - answer("").index(password))
            text = answer("the identity provider did not accept these credentials"[:pad].ljust(pad, "."))
            return web.Response(status=401, text=text, content_type="application/json")
        if mode == "reject-b":
            with contextlib.suppress(ValueError):
                if json.loads(body).get("username") == "bob":
                    return web.json_response({"error": "invalid username or password"}, status=401)
        return await self.forward(request, body)

    async def stall(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "text/html"})
        await response.prepare(request)
        await response.write(b"<!doctype html><html><head><title>loading")
        await asyncio.sleep(3600)  # until the browser gives up and the handler is cancelled
        return response

    def _headers(self, request: web.Request) -> dict[str, str]:
        return {k: v for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP}

    async def forward(self, request: web.Request, body: bytes | None = None) -> web.Response:
        assert self.http is not None
        data = await request.read() if body is None else body
        if self.args.refuse_sockets and request.method == "POST":
            data = self.strip_credentials(data)
        async with self.http.request(
            request.method,
            self.upstream + request.path_qs,
            headers=self._headers(request),
            data=data,
            allow_redirects=False,
        ) as resp:
            answer = await resp.read()
            headers = [(k, v) for k, v in resp.headers.items() if k.lower() not in HOP_BY_HOP]
            status = resp.status
        if self.args.drop_acks and request.method == "GET" and "transport=polling" in request.query_string:
            answer = self.drop_acks_polling(answer)
        response = web.Response(status=status, body=answer)
        for key, value in headers:
            response.headers.add(key, value)
        return response

    def strip_credentials(self, data: bytes) -> bytes:
        try:
            packets = data.decode().split(RECORD_SEPARATOR)
        except UnicodeDecodeError:
            return data
        return RECORD_SEPARATOR.join(self._no_auth(p) for p in packets).encode()

    @staticmethod
    def _no_auth(packet: str) -> str:
        match = CONNECT.match(packet)
        return f"40{match.group(1) or ''}{{}}" if match else packet

    @staticmethod
    def drop_acks_polling(answer: bytes) -> bytes:
        try:
            packets = answer.decode().split(RECORD_SEPARATOR)
        except UnicodeDecodeError:
            return answer
        # "6" (noop) keeps the poll well-formed when the ACK was all it carried.
        return RECORD_SEPARATOR.join("6" if p.startswith("43") else p for p in packets).encode()

    async def websocket(self, request: web.Request) -> web.StreamResponse:
        assert self.http is not None
        url = self.upstream.replace("http", "ws", 1) + request.path_qs
        headers = {k: v for k, v in self._headers(request).items() if not k.lower().startswith("sec-websocket")}
        try:
            upstream = await self.http.ws_connect(url, headers=headers, autoping=False)
        except aiohttp.WSServerHandshakeError as error:
            return web.Response(status=error.status, text=error.message)
        client = web.WebSocketResponse(autoping=False)
        await client.prepare(request)
        pumps = [
            asyncio.ensure_future(self._pump(client, upstream, to_server=True)),
            asyncio.ensure_future(self._pump(upstream, client, to_server=False)),
        ]
        if self.args.ws_close_after:
            pumps.append(asyncio.ensure_future(asyncio.sleep(self.args.ws_close_after)))
        try:
            await asyncio.wait(pumps, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pump in pumps:
                pump.cancel()
            await upstream.close()
            await client.close()
        return client

    async def _pump(
        self,
        source: web.WebSocketResponse | aiohttp.ClientWebSocketResponse,
        sink: web.WebSocketResponse | aiohttp.ClientWebSocketResponse,
        *,
        to_server: bool,
    ) -> None:
        async for message in source:
            if message.type == aiohttp.WSMsgType.TEXT:
                text = message.data
                if to_server and self.args.refuse_sockets:
                    text = self._no_auth(text)
                if not to_server and self.args.drop_acks and text.startswith("43"):
                    continue
                if not to_server and self.args.ws_cut_on and self.args.ws_cut_on in text:
                    break  # swallowed, and the socket closed under it: a WAF that kills on a payload
                if not to_server and self.args.ws_garbage:
                    text = GARBAGE
                await sink.send_str(text)
            elif message.type == aiohttp.WSMsgType.BINARY:
                await sink.send_bytes(GARBAGE.encode() if not to_server and self.args.ws_garbage else message.data)
            elif message.type == aiohttp.WSMsgType.PING:
                await sink.ping(message.data)
            elif message.type == aiohttp.WSMsgType.PONG:
                await sink.pong(message.data)
            else:
                break


# Main ---------------------------------------------------------------------------------------------


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="servers", description=__doc__)
    parser.add_argument(
        "kind", choices=["plain", "challenge", "untrusted", "self-signed", "silent", "html-api", "proxy"]
    )
    parser.add_argument("--upstream", default="")
    parser.add_argument("--slow", type=float, default=0.0)
    parser.add_argument("--slow-upgrade", type=float, default=0.0)
    parser.add_argument("--stall-root", action="store_true")
    parser.add_argument("--login", choices=["html", "echo", "echo-long", "reject-b"])
    parser.add_argument("--ws-close-after", type=float, default=0.0)
    parser.add_argument("--ws-cut-on", default="")
    parser.add_argument("--ws-garbage", action="store_true")
    parser.add_argument("--refuse-sockets", action="store_true")
    parser.add_argument("--drop-acks", action="store_true")
    return parser.parse_args(argv)


async def serve(args: argparse.Namespace) -> None:
    if args.kind == "silent":
        ports: list[int] = []
        await serve_silent(ports)
        print(f"ready {ports[0]}", flush=True)
        await asyncio.Event().wait()
    context = None
    if args.kind == "proxy":
        app = Proxy(args).app()
    elif args.kind == "challenge":
        app = challenge_app()
    else:
        app = plain_app()
        if args.kind == "untrusted":
            context = untrusted_context()
        elif args.kind == "self-signed":
            context = self_signed_context()
    runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=context)
    await site.start()
    print(f"ready {runner.addresses[0][1]}", flush=True)
    await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> None:
    args = parse(sys.argv[1:] if argv is None else argv)
    if args.kind == "proxy" and not args.upstream:
        raise SystemExit("proxy needs --upstream URL")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(args))


if __name__ == "__main__":
    main()
