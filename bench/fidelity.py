"""Measurement fidelity: the suite's reported chat A→B latency next to the pure path and the naive way,
in one run, on the same two pages, through the whole embedded path (edge with TLS → nginx → app).

    .venv/bin/python bench/fidelity.py [--messages 60] [--cycles 3] [--output reports/bench/fidelity.json]

Three methods, interleaved in --cycles so they share the machine's conditions:

- reported: what RT-002 reports, by RT-002's own code (`observe.chat_round` through the app adapter:
  fill + dispatch click, in-page frame timestamps; `checks.realtime.judge_chat_rounds`): "send → frame"
  and "send → rendered";
- pure: a script inside page A emits the messages on the page's own socket, timestamped in-page
  (performance.timeOrigin + performance.now()) just before `emit`; page B timestamps each arrival in a
  socket listener. No Playwright round trip at all;
- naive: Python's time.time() before `page.click()` on the send button, to the frame's arrival in
  page B (one clock: timeOrigin and time.time agree within ~1 ms), and to Python seeing it rendered.

Ratios: reported p50 / pure p50 (target ≤ 1.5, aim 1.2) and naive p50 / pure p50.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import Any

from _common import emit, loadavg, machine, note, ratio, stats
from playwright.async_api import async_playwright

from realtime_verify import observe
from realtime_verify.adapter import load_adapter
from realtime_verify.artifacts import ArtifactSettings
from realtime_verify.browser import find_chromium, launch_chromium
from realtime_verify.checks import realtime as rt
from realtime_verify.config import Profile
from realtime_verify.metrics import Markers
from realtime_verify.pages import AppPage
from realtime_verify.reporting.redact import shared_redactor
from realtime_verify.session import AppSession
from realtime_verify.target import prepare_target

PURE_GAP_MS = 50  # between one message's ack and the next emit: no message queues behind another

# In page B: timestamp every chat message's arrival in the app's socket, by its marker.
LISTEN_JS = """(pattern) => {
  const re = new RegExp(pattern, "g");
  window.__benchArrivals = {};
  window.__app.provider.socket.on("chat:message", (m) => {
    const t = performance.timeOrigin + performance.now();
    for (const marker of String(m && m.text).match(re) || []) window.__benchArrivals[marker] ??= t;
  });
}"""

# In page A: emit each message on the page's own socket, one after the other's acknowledgement.
EMIT_JS = """async ({texts, gapMs}) => {
  const socket = window.__app.provider.socket;
  const to = window.__app.state.peerId;
  const sent = [];
  for (const text of texts) {
    const t = performance.timeOrigin + performance.now();
    await new Promise((resolve) => socket.timeout(5000).emit(
      "chat:message", {to, text, client_id: "bench-" + t}, () => resolve()));
    sent.push(t);
    await new Promise((resolve) => setTimeout(resolve, gapMs));
  }
  return sent;
}"""


async def pure_path(a: AppPage, b: AppPage, markers: Markers, count: int) -> list[float]:
    chosen = [markers.next() for _ in range(count)]
    sent: list[float] = await a.page.evaluate(
        EMIT_JS, {"texts": [observe.chat_text(m) for m in chosen], "gapMs": PURE_GAP_MS}
    )
    for marker in chosen:
        await b.rv.wait_rendered(marker, observe.RENDER_TIMEOUT_S)
    arrivals: dict[str, float] = await b.page.evaluate("() => window.__benchArrivals")
    return [arrivals[m] - t for m, t in zip(chosen, sent, strict=True) if m in arrivals]


async def naive_way(
    a: AppPage, b: AppPage, markers: Markers, count: int, profile: Profile
) -> tuple[list[float], list[float]]:
    ui = profile.ui
    to_frame, to_python = [], []
    for _ in range(count):
        marker = markers.next()
        await a.page.fill(ui.chat_input, observe.chat_text(marker))
        started = time.time() * 1000
        await a.page.click(ui.chat_send)
        await b.rv.wait_rendered(marker, observe.RENDER_TIMEOUT_S)
        seen = time.time() * 1000
        received = (await b.rv.marker_times([marker]))[marker].received
        if received is not None:
            to_frame.append(received - started)
        to_python.append(seen - started)
        # The page clears its input once the server acknowledged: wait for that, as the suite does.
        await a.page.wait_for_function("(s) => !document.querySelector(s).value", arg=ui.chat_input, timeout=5000)
    return to_frame, to_python


async def run(messages: int, cycles: int) -> dict[str, Any]:
    profile = Profile()
    target = await prepare_target(profile)
    try:
        adapter = load_adapter(target)
        await adapter.prepare()
        markers = Markers()
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
            await b.page.evaluate(LISTEN_JS, markers.prefix.replace("-", "\\-") + r"\d+")
            per_cycle = max(1, messages // cycles)
            frame: list[float] = []
            rendered: list[float] = []
            pure: list[float] = []
            naive_frame: list[float] = []
            naive_python: list[float] = []
            # A warm-up: the first messages pay for JIT and the chat pane's first layout.
            await pure_path(a, b, markers, 5)
            for cycle in range(cycles):
                chat = await observe.chat_round(adapter, a, b, "A→B", per_cycle, markers)
                judged = rt.judge_chat_rounds([chat], profile.budgets.chat_p95_ms)
                frame += judged.series[0].samples_ms
                rendered += judged.series[1].samples_ms
                pure += await pure_path(a, b, markers, per_cycle)
                nf, np_ = await naive_way(a, b, markers, per_cycle, profile)
                naive_frame += nf
                naive_python += np_
                note(f"cycle {cycle + 1}/{cycles} done")
            await session.close(failed=False)
            await browser.close()
        await adapter.remove_chat(markers.prefix)
        await adapter.close()
    finally:
        await target.close()
    figures = {
        "reported send → frame (RT-002)": stats(frame),
        "reported send → rendered (RT-002)": stats(rendered),
        "pure path (in-page emit → in-page arrival)": stats(pure),
        "naive (Python before page.click → frame at B)": stats(naive_frame),
        "naive end to end (Python around click and B's render wait)": stats(naive_python),
    }
    pure_p50 = figures["pure path (in-page emit → in-page arrival)"].get("p50")
    return {
        "figures_ms": figures,
        "ratios_p50": {
            "reported frame / pure": ratio(figures["reported send → frame (RT-002)"].get("p50"), pure_p50),
            "reported rendered / pure": ratio(figures["reported send → rendered (RT-002)"].get("p50"), pure_p50),
            "naive / pure": ratio(figures["naive (Python before page.click → frame at B)"].get("p50"), pure_p50),
            "naive end to end / pure": ratio(
                figures["naive end to end (Python around click and B's render wait)"].get("p50"), pure_p50
            ),
        },
        "ratios_p95": {
            "reported frame / pure": ratio(
                figures["reported send → frame (RT-002)"].get("p95"),
                figures["pure path (in-page emit → in-page arrival)"].get("p95"),
            ),
            "naive / pure": ratio(
                figures["naive (Python before page.click → frame at B)"].get("p95"),
                figures["pure path (in-page emit → in-page arrival)"].get("p95"),
            ),
        },
        "samples_ms": {"reported_frame": frame, "pure": pure, "naive_frame": naive_frame},
    }


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--messages", type=int, default=60, help="messages per method (default: 60)")
    parser.add_argument("--cycles", type=int, default=3, help="interleaved cycles (default: 3)")
    parser.add_argument("--output", type=Path, default=None)
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse(argv)
    info = machine()
    load = loadavg()
    result = asyncio.run(run(args.messages, args.cycles))
    result["samples_ms"] = {k: [round(v, 2) for v in vs] for k, vs in result["samples_ms"].items()}
    emit(
        "fidelity",
        {
            "command": "bench/fidelity.py " + " ".join(argv),
            "machine": info,
            "loadavg_start": load,
            "loadavg_end": loadavg(),
            **result,
        },
        args.output,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
