"""Where the milliseconds go: chat latency per hop, and how fast the embedded stack starts.

    .venv/bin/python bench/latency.py [--messages 200] [--starts 5] [--output reports/bench.json]

1. Stack start: `EmbeddedStack` from nothing to every part answering (uvicorn, nginx, edge with TLS).
2. Socket path per hop, two python-socketio clients on websocket (alice emits, bob receives):
   straight to the app, through nginx, through the edge emulator and nginx (TLS on app.test).
3. Browser to browser through the whole path, with the suite's in-page timestamps (as RT-002).

The python-client figures are taken in one process with one clock, around emit() and the receive
handler; the browser figures with performance.timeOrigin + performance.now() in each page.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp
from playwright.async_api import async_playwright

from realtime_verify.browser import find_chromium, instrumentation_script, launch_chromium
from realtime_verify.config import Credentials, Profile
from realtime_verify.metrics import LatencySeries, Markers, format_table, has_marker
from realtime_verify.net import NetworkOptions
from realtime_verify.pages import AppPage
from realtime_verify.stack import EmbeddedStack, StackConfig, StackInfo
from realtime_verify.watcher import Watcher


async def stack_starts(count: int) -> LatencySeries:
    series = LatencySeries("stack start → ready (ms)")
    for _ in range(count):
        started = time.perf_counter()
        async with EmbeddedStack(StackConfig()):
            series.add((time.perf_counter() - started) * 1000)
    return series


async def token(info: StackInfo, user: str) -> tuple[str, int]:
    async with (
        info.network.session() as http,
        http.post(f"{info.base_url}/api/login", json={"username": user, "password": info.users[user]}) as resp,
    ):
        data = await resp.json()
    return data["token"], data["user"]["id"]


async def socket_hop(name: str, url: str, network: NetworkOptions, info: StackInfo, messages: int) -> LatencySeries:
    (alice_token, _), (bob_token, bob_id) = await token(info, "alice"), await token(info, "bob")
    alice = Watcher("alice", url, "/socket.io/", network, {"token": alice_token}, ["websocket"])
    bob = Watcher("bob", url, "/socket.io/", network, {"token": bob_token}, ["websocket"])
    await alice.connect()
    await bob.connect()
    series = LatencySeries(f"socket A→B: {name}")
    markers = Markers()
    try:
        for _ in range(messages):
            marker = markers.next()
            sent = time.time() * 1000
            await alice.client.emit("chat:message", {"to": bob_id, "text": marker})
            event = await bob.wait_for("chat:message", lambda d, m=marker: d.get("text") == m, timeout_s=5)
            series.add(event.t_ms - sent)
    finally:
        await alice.close()
        await bob.close()
    return series


async def browser_path(info: StackInfo, messages: int) -> list[LatencySeries]:
    profile = Profile()
    markers = Markers()
    async with async_playwright() as playwright:
        browser = await launch_chromium(playwright, find_chromium(playwright), info.network)
        pages = []
        for user, peer in (("alice", "bob"), ("bob", "alice")):
            context = await browser.new_context()
            await context.add_init_script(instrumentation_script(profile.socket_path))
            page = AppPage(await context.new_page(), profile, user)
            await page.open(info.base_url)
            await page.login(Credentials(user, info.users[user]))
            await page.wait_connected(10)
            await page.open_conversation(peer)
            pages.append(page)
        a, b = pages
        frame, rendered = LatencySeries("browser A→B: send → frame"), LatencySeries("browser A→B: send → rendered")
        to_watcher = LatencySeries("browser A → python watcher (bob)")
        from_python = LatencySeries("python (alice) → browser B frame")
        (alice_token, _), (bob_token, bob_id) = await token(info, "alice"), await token(info, "bob")
        watcher = Watcher("bob", info.base_url, "/socket.io/", info.network, {"token": bob_token}, ["websocket"])
        sender = Watcher("alice", info.base_url, "/socket.io/", info.network, {"token": alice_token}, ["websocket"])
        await watcher.connect()
        await sender.connect()
        sent_markers = []
        for _ in range(messages):
            marker = markers.next()
            sent_markers.append(marker)
            await a.send_chat(f"bench {marker}")
            await b.rv.wait_rendered(marker, 5)
            event = await watcher.wait_for(
                "chat:message", lambda d, m=marker: has_marker(d.get("text"), m), timeout_s=5
            )
            to_watcher.add(event.t_ms - (await a.rv.marker_times([marker]))[marker].sent)  # type: ignore[operator]
        # The other way: a python client sends, browser B receives (one clock: time.time and timeOrigin agree).
        for _ in range(messages):
            marker = markers.next()
            start = time.time() * 1000
            await sender.client.emit("chat:message", {"to": bob_id, "text": f"bench {marker}"})
            await b.rv.wait_rendered(marker, 5)
            from_python.add((await b.rv.marker_times([marker]))[marker].received - start)  # type: ignore[operator]
        await watcher.close()
        await sender.close()
        results_extra = [to_watcher, from_python]
        sent, seen = await a.rv.marker_times(sent_markers), await b.rv.marker_times(sent_markers)
        for marker in sent_markers:
            start, received, shown = sent[marker].sent, seen[marker].received, seen[marker].rendered
            if start is None or received is None or shown is None:
                raise RuntimeError(
                    f"{marker}: a timestamp is missing (sent {start}, received {received}, shown {shown})"
                )
            frame.add(received - start)
            rendered.add(shown - start)
        await browser.close()
    return [frame, rendered, *results_extra]


async def main(messages: int, starts: int, output: Path) -> int:
    results = [await stack_starts(starts)]
    async with EmbeddedStack(StackConfig()) as stack:
        info = stack.info
        plain = NetworkOptions()
        results.append(
            await socket_hop("app (uvicorn) directly", f"http://127.0.0.1:{info.app_port}", plain, info, messages)
        )
        results.append(await socket_hop("nginx → app", f"http://127.0.0.1:{info.nginx_port}", plain, info, messages))
        results.append(await socket_hop("edge (TLS) → nginx → app", info.base_url, info.network, info, messages))
        results += await browser_path(info, max(30, messages // 2))
    summaries = [s.summary() for s in results]
    print("\n".join(format_table(summaries)))
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(
        json.dumps(
            {
                "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                "machine": {
                    "python": platform.python_version(),
                    "cpus": __import__("os").cpu_count(),
                    "platform": platform.platform(),
                },
                "aiohttp": aiohttp.__version__,
                "results": summaries,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"\nwritten to {output}")
    return 0


def parse(argv: list[str]) -> Any:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=200, help="messages per hop (default: 200)")
    parser.add_argument("--starts", type=int, default=5, help="stack starts to time (default: 5)")
    parser.add_argument("--output", type=Path, default=Path("reports/bench.json"))
    return parser.parse_args(argv)


if __name__ == "__main__":
    args = parse(sys.argv[1:])
    sys.exit(asyncio.run(main(args.messages, args.starts, args.output)))
