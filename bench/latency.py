"""Where the milliseconds go: chat latency per hop, and how fast the embedded stack starts.

    .venv/bin/python bench/latency.py [--messages 200] [--starts 5] [--output reports/bench/latency.json]

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
import sys
import time
from pathlib import Path
from typing import Any

from _common import emit, loadavg, machine
from playwright.async_api import async_playwright

from realtime_verify.adapter import load_adapter
from realtime_verify.artifacts import ArtifactSettings
from realtime_verify.browser import find_chromium, launch_chromium
from realtime_verify.config import Profile
from realtime_verify.metrics import LatencySeries, Markers, format_table, has_marker
from realtime_verify.net import NetworkOptions
from realtime_verify.reporting.redact import shared_redactor
from realtime_verify.session import AppSession
from realtime_verify.stack import EmbeddedStack, StackConfig, StackInfo
from realtime_verify.target import prepare_target
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


async def browser_path(messages: int) -> list[LatencySeries]:
    """Two pages (alice, bob) opened by the suite's own code (AppSession, the contract adapter)."""
    target = await prepare_target(Profile())
    assert target.stack is not None
    info = target.stack.info
    markers = Markers()
    adapter = load_adapter(target)
    try:
        await adapter.prepare()
        async with async_playwright() as playwright:
            browser = await launch_chromium(playwright, find_chromium(playwright), target.network)
            session = AppSession(
                browser=browser,
                target=target,
                adapter=adapter,
                markers=markers,
                redactor=shared_redactor(),
                artifacts=ArtifactSettings(screenshot="off"),
                folder=Path("reports/bench/artifacts"),
            )
            a, b = await session.page("a"), await session.page("b")
            await adapter.open_chat(a, adapter.user("b"))
            await adapter.open_chat(b, adapter.user("a"))
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
                await adapter.send_chat(a, f"bench {marker} message")
                await b.rv.wait_rendered(marker, 5)
                event = await watcher.wait_for(
                    "chat:message", lambda d, m=marker: has_marker(d.get("text"), m), timeout_s=5
                )
                sent_at = (await a.rv.marker_times([marker]))[marker].sent
                if sent_at is not None:
                    to_watcher.add(event.t_ms - sent_at)
            # The other way: a python client sends, browser B receives (one clock: time.time and timeOrigin agree).
            for _ in range(messages):
                marker = markers.next()
                start = time.time() * 1000
                await sender.client.emit("chat:message", {"to": bob_id, "text": f"bench {marker} message"})
                await b.rv.wait_rendered(marker, 5)
                received = (await b.rv.marker_times([marker]))[marker].received
                if received is not None:
                    from_python.add(received - start)
            await watcher.close()
            await sender.close()
            sent, seen = await a.rv.marker_times(sent_markers), await b.rv.marker_times(sent_markers)
            for marker in sent_markers:
                start, received, shown = sent[marker].sent, seen[marker].received, seen[marker].rendered
                if start is None or received is None or shown is None:
                    raise RuntimeError(
                        f"{marker}: a timestamp is missing (sent {start}, received {received}, shown {shown})"
                    )
                frame.add(received - start)
                rendered.add(shown - start)
            await session.close(failed=False)
            await browser.close()
        await adapter.remove_chat(markers.prefix)
    finally:
        await adapter.close()
        await target.close()
    return [frame, rendered, to_watcher, from_python]


async def main(messages: int, starts: int) -> list[dict[str, Any]]:
    results = [await stack_starts(starts)]
    async with EmbeddedStack(StackConfig()) as stack:
        info = stack.info
        plain = NetworkOptions()
        results.append(
            await socket_hop("app (uvicorn) directly", f"http://127.0.0.1:{info.app_port}", plain, info, messages)
        )
        results.append(await socket_hop("nginx → app", f"http://127.0.0.1:{info.nginx_port}", plain, info, messages))
        results.append(await socket_hop("edge (TLS) → nginx → app", info.base_url, info.network, info, messages))
    results += await browser_path(max(5, messages // 2))
    summaries = [s.summary() for s in results]
    print("\n".join(format_table(summaries)), file=sys.stderr)
    return summaries


def parse(argv: list[str]) -> Any:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=200, help="messages per hop (default: 200)")
    parser.add_argument("--starts", type=int, default=5, help="stack starts to time (default: 5)")
    parser.add_argument("--output", type=Path, default=None, help="default: reports/bench/latency.json")
    return parser.parse_args(argv)


if __name__ == "__main__":
    args = parse(sys.argv[1:])
    info, load = machine(), loadavg()
    summaries = asyncio.run(main(args.messages, args.starts))
    command = "bench/latency.py " + " ".join(sys.argv[1:])
    emit(
        "latency",
        {"command": command, "machine": info, "loadavg_start": load, "loadavg_end": loadavg(), "results": summaries},
        args.output,
    )
