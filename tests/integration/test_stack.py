"""The embedded stack: TLS on a mapped name, real nginx, the edge emulator's controls, restarts."""

from __future__ import annotations

import asyncio
import ssl
import time

import aiohttp
import pytest
from playwright.async_api import Error as PlaywrightError

from realtime_verify.errors import WaitTimeout
from realtime_verify.stack import EmbeddedStack
from realtime_verify.watcher import Watcher
from tests.integration.conftest import OpenPage

STATUS = '[data-testid="connection-status"]'


async def badge(page: object) -> tuple[str | None, str | None]:
    locator = page.page.locator(STATUS)  # type: ignore[attr-defined]
    return await locator.get_attribute("data-state"), await locator.get_attribute("data-transport")


async def wait_badge(page: object, state: str, transport: str | None = None, timeout_s: float = 10) -> None:
    selector = f'{STATUS}[data-state="{state}"]' + (f'[data-transport="{transport}"]' if transport else "")
    await page.page.wait_for_selector(selector, state="attached", timeout=timeout_s * 1000)  # type: ignore[attr-defined]


async def alice_watcher(stack: EmbeddedStack) -> Watcher:
    info = stack.info
    async with (
        info.network.session() as http,
        http.post(
            f"{info.base_url}/api/login",
            json={"username": "alice", "password": info.users["alice"]},
        ) as resp,
    ):
        token = (await resp.json())["token"]
    watcher = Watcher(
        "alice",
        info.base_url,
        "/socket.io/",
        info.network,
        auth={"token": token},
        transports=["websocket"],
    )
    await watcher.connect()
    return watcher


async def test_page_on_the_mapped_name_connects_over_wss_and_ends_on_websocket(
    stack: EmbeddedStack, open_page: OpenPage
) -> None:
    page = await open_page()
    assert page.page.url.startswith(f"https://{stack.info.hostname}:")
    await wait_badge(page, "connected", "websocket")
    snapshot = await page.rv.snapshot()
    live = [s for s in snapshot["sockets"] if s["opened"] and not s["closed"]]
    assert live
    assert live[-1]["url"].startswith(f"wss://{stack.info.hostname}:{stack.info.edge_port}/socket.io/")


@pytest.mark.parametrize("mode", ["fin", "rst"])
async def test_drop_all_makes_the_page_reconnect_on_websocket(
    stack: EmbeddedStack, open_page: OpenPage, mode: str
) -> None:
    page = await open_page()
    await wait_badge(page, "connected", "websocket")
    before = len((await page.rv.snapshot())["sockets"])
    assert await stack.drop_all(mode) >= 1
    await wait_badge(page, "reconnecting")
    await wait_badge(page, "connected", "websocket")
    assert len((await page.rv.snapshot())["sockets"]) > before, "the page must have opened a new WebSocket"


async def test_blackhole_stops_frames_but_keeps_the_socket_open(stack: EmbeddedStack) -> None:
    watcher = await alice_watcher(stack)
    try:
        await stack.blackhole_for(2.0)
        await watcher.client.emit("health:ping", {"id": "during", "ts": 0})
        with pytest.raises(WaitTimeout):
            await watcher.wait_for("health:pong", timeout_s=1.0, what="a pong through the black hole")
        assert watcher.connected
        assert not watcher.disconnects
        # When the black hole ends, the held frames flow on: the pong arrives, the socket never closed.
        await watcher.wait_for("health:pong", timeout_s=5.0, what="the held pong")
        assert watcher.connected
        assert not watcher.disconnects
    finally:
        await stack.resume()
        await watcher.close()


async def test_refuse_resets_new_connections_for_a_while(stack: EmbeddedStack) -> None:
    info = stack.info
    await stack.refuse_for(1.5)
    async with info.network.session() as http:
        with pytest.raises((aiohttp.ClientError, ssl.SSLError, ConnectionError)):
            async with http.get(f"{info.base_url}/api/health"):
                pass
    deadline = time.monotonic() + 5
    async with info.network.session() as http:
        while True:  # the refusal ends by itself: poll until it does, bounded
            try:
                async with http.get(f"{info.base_url}/api/health") as resp:
                    assert resp.status == 200
                    break
            except (aiohttp.ClientError, ssl.SSLError, ConnectionError):
                assert time.monotonic() < deadline, "still refused 5 s after a 1.5 s refusal"
                await asyncio.sleep(0.1)


async def test_challenge_and_cache_headers_only_on_the_socket_path(stack: EmbeddedStack) -> None:
    info = stack.info
    await stack.set_edge(challenge_socket=True, cache_socket=True)
    try:
        async with info.network.session() as http:
            async with http.get(f"{info.base_url}/socket.io/?EIO=4&transport=polling") as resp:
                assert resp.status == 403
                assert resp.headers["cf-mitigated"] == "challenge"
                assert "Just a moment" in await resp.text()
            async with http.get(f"{info.base_url}/api/health") as resp:
                assert resp.status == 200
                assert "cf-mitigated" not in resp.headers
                assert "cf-cache-status" not in resp.headers
                assert resp.headers["cf-ray"].endswith("-EMU")
            await stack.set_edge(challenge_socket=False)
            async with http.get(f"{info.base_url}/socket.io/?EIO=4&transport=polling") as resp:
                assert resp.status == 200
                assert resp.headers["cf-cache-status"] == "HIT"
    finally:
        await stack.reset_edge()
    async with (
        info.network.session() as http,
        http.get(f"{info.base_url}/socket.io/?EIO=4&transport=polling") as resp,
    ):
        assert resp.headers["cf-cache-status"] == "DYNAMIC"


async def test_latency_is_added_to_every_request(stack: EmbeddedStack) -> None:
    info = stack.info
    async with info.network.session() as http:
        await stack.set_edge(latency_ms=150)
        try:
            start = time.monotonic()
            async with http.get(f"{info.base_url}/api/health") as resp:
                assert resp.status == 200
            assert time.monotonic() - start >= 0.15
        finally:
            await stack.set_edge(latency_ms=0)


async def test_idle_connections_are_closed_after_the_idle_timeout(stack: EmbeddedStack) -> None:
    info = stack.info
    await stack.set_edge(idle_timeout_s=0.5)
    try:
        reader, writer = await asyncio.open_connection(
            "127.0.0.1",
            info.edge_port,
            ssl=info.network.ssl_context(),
            server_hostname=info.hostname,
        )
        # Say nothing: the edge must close the connection by itself.
        assert await asyncio.wait_for(reader.read(), 5) == b""
        writer.close()
    finally:
        await stack.set_edge(idle_timeout_s=info.timers.edge_idle_timeout_s)
    assert (await stack.status())["edge"]["stats"]["idle_closed"] >= 1


async def test_backend_restart_is_a_deploy_the_page_survives(stack: EmbeddedStack, open_page: OpenPage) -> None:
    page = await open_page()
    watcher = await alice_watcher(stack)
    old_pid = (await stack.status())["app"]["pid"]
    await stack.restart_backend()
    status = await stack.status()
    assert status["app"]["alive"]
    assert status["app"]["pid"] != old_pid
    await wait_badge(page, "connected", "websocket")
    assert watcher.disconnects, "the watcher must have seen the deploy"
    await watcher.close()


async def test_nginx_restart_drops_sockets_and_pages_come_back(stack: EmbeddedStack, open_page: OpenPage) -> None:
    page = await open_page()
    await stack.restart_nginx()
    await wait_badge(page, "connected", "websocket")
    assert (await stack.status())["nginx"]["alive"]


async def test_insecure_socket_url_is_blocked_by_the_browser(open_page: OpenPage, stack: EmbeddedStack) -> None:
    page = await open_page()
    insecure = f"ws://{stack.info.hostname}:{stack.info.edge_port}/socket.io/?EIO=4&transport=websocket"
    with pytest.raises(PlaywrightError, match=r"SecurityError|insecure WebSocket"):
        await page.page.evaluate("(url) => { new WebSocket(url); }", insecure)
