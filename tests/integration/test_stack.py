"""The embedded stack: TLS on a mapped name, real nginx, the edge emulator's controls, restarts."""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import Error as PlaywrightError

from realtime_verify.errors import TargetUnreachable, WaitTimeout
from realtime_verify.pages import AppPage
from realtime_verify.stack import EmbeddedStack
from realtime_verify.target import Target
from realtime_verify.watcher import Watcher
from tests.integration.conftest import OpenPage, socket_responses_after_reload, wait_badge

Connect = Callable[..., Awaitable[Watcher]]


async def open_websocket(page: AppPage) -> dict[str, Any]:
    """The page's open WebSocket, past the Engine.IO upgrade (bounded wait)."""
    await wait_badge(page, "connected", "websocket")
    live = [s for s in (await page.rv.snapshot())["sockets"] if s["opened"] and not s["closed"]]
    assert live, "the badge says websocket, but no WebSocket is open"
    socket: dict[str, Any] = live[-1]
    return socket


async def wait_closed(page: AppPage, url: str) -> None:
    """Wait until the page saw its WebSocket to `url` close."""
    await page.page.wait_for_function(
        "(url) => window.__rv.sockets.some(s => s.url === url && s.closed)", arg=url, timeout=10_000
    )


async def test_page_on_the_mapped_name_connects_over_wss_and_ends_on_websocket(
    stack: EmbeddedStack, open_page: OpenPage
) -> None:
    page = await open_page()
    assert page.page.url.startswith(f"https://{stack.info.hostname}:")
    socket = await open_websocket(page)
    assert socket["url"].startswith(f"wss://{stack.info.hostname}:{stack.info.edge_port}/socket.io/")


@pytest.mark.parametrize("mode", ["fin", "rst"])
async def test_drop_all_makes_the_page_reconnect_on_websocket(
    stack: EmbeddedStack, open_page: OpenPage, mode: str
) -> None:
    page = await open_page()
    before = await open_websocket(page)
    assert await stack.drop_all(mode) >= 1
    await wait_closed(page, before["url"])
    after = await open_websocket(page)
    assert after["url"] != before["url"], "the page must have opened a new WebSocket (a new Engine.IO sid)"


async def test_blackhole_stops_frames_but_keeps_the_socket_open(stack: EmbeddedStack, watcher: Connect) -> None:
    alice = await watcher("a")
    try:
        await stack.blackhole_for(2.0)
        await alice.send("health:ping", {"id": "during", "ts": 0})
        with pytest.raises(WaitTimeout):
            await alice.wait_for("health:pong", timeout_s=1.0, what="a pong through the black hole")
        assert alice.connected
        assert not alice.disconnects
        # When the black hole ends, the held frames flow on: the pong arrives, the socket never closed.
        await alice.wait_for("health:pong", timeout_s=5.0, what="the held pong")
        assert alice.connected
        assert not alice.disconnects
    finally:
        await stack.resume()


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


async def test_backend_restart_is_a_deploy_the_page_survives(
    stack: EmbeddedStack, open_page: OpenPage, watcher: Connect
) -> None:
    page = await open_page()
    before = await open_websocket(page)
    alice = await watcher("a")
    old_pid = (await stack.status())["app"]["pid"]
    await stack.restart_backend(app_version="2")
    status = await stack.status()
    assert status["app"]["alive"]
    assert status["app"]["pid"] != old_pid
    assert not Path(f"/proc/{old_pid}").exists(), "the old app process is gone, not orphaned"
    await wait_closed(page, before["url"])
    after = await open_websocket(page)
    assert after["url"] != before["url"], "the page reconnected to the new app"
    assert alice.disconnects, "the watcher must have seen the deploy"
    async with stack.info.network.session() as http, http.get(f"{stack.info.base_url}/api/health") as resp:
        assert (await resp.json())["version"] == "2", "the deploy brought the new version"


async def test_nginx_restart_drops_sockets_and_pages_come_back(
    stack: EmbeddedStack, open_page: OpenPage, watcher: Connect
) -> None:
    page = await open_page()
    before = await open_websocket(page)
    alice = await watcher("a")
    old = (await stack.status())["nginx"]
    assert old["alive"]
    await stack.restart_nginx()
    new = (await stack.status())["nginx"]
    assert new["alive"]
    assert new["pid"] != old["pid"], "nginx was restarted, not left running"
    assert not Path(f"/proc/{old['pid']}").exists(), "the old nginx is gone"
    # Every socket proxied by the old nginx dropped: the page's and the watcher's.
    await wait_closed(page, before["url"])
    assert alice.disconnects, "the watcher's socket through the old nginx must have dropped"
    assert not alice.connected
    after = await open_websocket(page)
    assert after["url"] != before["url"], "the page came back on a new WebSocket, through the new nginx"


async def test_the_service_worker_leaves_socket_requests_to_the_network(open_page: OpenPage) -> None:
    # The counterpart of the sw-intercepts-socket fault (test_service_worker.py) on a healthy stack.
    responses = await socket_responses_after_reload(await open_page())
    assert responses, "the page made no long-polling request through the socket path"
    assert not [r.url for r in responses if r.from_service_worker]


async def test_the_stacks_zone_api_follows_the_edge_and_only_reads(stack: EmbeddedStack) -> None:
    info = stack.info
    rules_url = f"{info.cf_api_url}/zones/{info.cf_zone_id}/rulesets/phases/http_request_firewall_custom/entrypoint"
    token = {"Authorization": f"Bearer {info.cf_token}"}

    async def challenges_the_socket(http: aiohttp.ClientSession) -> bool:
        async with http.get(rules_url, headers=token) as resp:
            assert resp.status == 200
            rules = (await resp.json())["result"]["rules"]
        return any(r["action"] == "managed_challenge" and "/socket.io" in r["expression"] for r in rules)

    async with aiohttp.ClientSession() as http:
        assert not await challenges_the_socket(http)
        await stack.set_edge(challenge_socket=True)
        try:
            assert await challenges_the_socket(http), "the zone reports the rule its edge applies"
        finally:
            await stack.reset_edge()
        assert not await challenges_the_socket(http)
        async with http.get(rules_url, headers={"Authorization": "Bearer wrong"}) as resp:
            assert resp.status == 401
        async with http.patch(f"{info.cf_api_url}/zones/{info.cf_zone_id}/settings/websockets", headers=token) as resp:
            assert resp.status == 405


async def test_fault_controls_are_bounded_and_checked(stack: EmbeddedStack) -> None:
    for seconds in (0, -1, 601):
        with pytest.raises(TargetUnreachable, match=r"seconds must be above 0 and at most 600"):
            await stack.blackhole_for(seconds)
    with pytest.raises(TargetUnreachable, match=r"unknown edge behaviour \['warp_speed'\]"):
        await stack.set_edge(warp_speed=True)
    with pytest.raises(TargetUnreachable, match="mode must be 'fin' or 'rst'"):
        await stack.drop_all("reset")
    assert (await stack.status())["edge"]["stats"]["dropped"] >= 0


async def test_insecure_socket_url_is_blocked_by_the_browser(open_page: OpenPage, stack: EmbeddedStack) -> None:
    page = await open_page()
    insecure = f"ws://{stack.info.hostname}:{stack.info.edge_port}/socket.io/?EIO=4&transport=websocket"
    with pytest.raises(PlaywrightError, match=r"SecurityError|insecure WebSocket"):
        await page.page.evaluate("(url) => { new WebSocket(url); }", insecure)


async def test_a_backend_freeze_between_two_times_makes_one_ping_late(
    stack: EmbeddedStack, target: Target, watcher: Connect
) -> None:
    """FT-006's late ping: the app is frozen from just before a ping is due to a fixed time after."""
    alice = await watcher("a")
    interval = target.handshake.ping_interval_s
    assert interval is not None
    ping_at = await alice.wait_ping(interval * 2)
    assert ping_at is not None, "no server ping within two intervals"
    now = time.time()
    assert await stack.pause_backend_between(now - 1, now + 1) is None, "a start that has passed is refused"
    due = ping_at / 1000 + interval
    assert await stack.pause_backend_between(due - 0.5, due + 1.0) == pytest.approx(due - 0.5)
    late_ping = await alice.wait_ping(interval + 5)
    assert late_ping is not None, "no ping after the freeze"
    assert late_ping / 1000 >= due + 0.95, "the ping due during the freeze must come when the app resumes"
    assert alice.connected
    assert not alice.disconnects
