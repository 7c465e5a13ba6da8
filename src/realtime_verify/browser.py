"""Finding and launching Chromium, and reading what the in-page instrumentation recorded."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from playwright.async_api import Browser, Page, Playwright
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import TimeoutError as PlaywrightTimeout

from realtime_verify.errors import SetupError, WaitTimeout
from realtime_verify.net import NetworkOptions

# Playwright already passes headless, no-sandbox, no-first-run and the background-networking flags.
CHROMIUM_FLAGS = ["--disable-gpu", "--disable-quic"]
SYSTEM_CHROMIUMS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
BROWSER_PATH_ENV = "RV_BROWSER_PATH"
MARKER_PATTERN = "rv-[a-z0-9]+-[0-9]+"


@dataclass(frozen=True)
class BrowserChoice:
    """Which Chromium to launch; `path` None means Playwright's own download."""

    path: str | None
    how: str


def find_chromium(playwright: Playwright, explicit: str | None = None) -> BrowserChoice:
    """An explicit path, then $RV_BROWSER_PATH, then Playwright's own, then the system's."""
    for value, origin in (
        (explicit, "--browser-path"),
        (os.environ.get(BROWSER_PATH_ENV), BROWSER_PATH_ENV),
    ):
        if value:
            if not (Path(value).is_file() and os.access(value, os.X_OK)):
                raise SetupError(f"{origin} {value!r} is not an executable file")
            return BrowserChoice(value, origin)
    tried = [f"--browser-path and ${BROWSER_PATH_ENV} (not set)"]
    managed = playwright.chromium.executable_path
    if managed and Path(managed).is_file():
        return BrowserChoice(None, f"Playwright-managed ({managed})")
    tried.append(f"Playwright-managed {managed or '(none)'}")
    for name in SYSTEM_CHROMIUMS:
        found = shutil.which(name)
        if found:
            return BrowserChoice(found, "system")
        tried.append(name)
    raise SetupError(
        "No Chromium found. Tried: " + ", ".join(tried) + ". Install one: `apt-get install chromium`"
        " (Debian/Ubuntu), or `python -m playwright install chromium`, or pass --browser-path."
    )


async def launch_chromium(
    playwright: Playwright, choice: BrowserChoice, network: NetworkOptions, *, headed: bool = False
) -> Browser:
    try:
        return await playwright.chromium.launch(
            executable_path=choice.path,
            headless=not headed,
            args=CHROMIUM_FLAGS + network.chromium_args(),
        )
    except PlaywrightError as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        raise SetupError(
            f"Chromium ({choice.how}: {choice.path or 'managed'}) did not start: {first_line}."
            " Check that it runs (`chromium --headless --version`), or pass another with --browser-path."
        ) from None


def instrumentation_script(socket_path: str, marker_pattern: str = MARKER_PATTERN) -> str:
    source = resources.files("realtime_verify").joinpath("js/instrument.js").read_text()
    config = json.dumps({"socketPath": socket_path, "markerPattern": marker_pattern})
    return f"window.__rvConfig = {config};\n{source}"


@dataclass(frozen=True)
class MarkerTimes:
    """When one marker was sent, received and rendered in one page (epoch ms, or None)."""

    sent: float | None
    received: float | None
    rendered: float | None


class Instrumentation:
    """Reads `window.__rv` in one page."""

    def __init__(self, page: Page, name: str) -> None:
        self.page = page
        self.name = name

    async def snapshot(self) -> dict[str, Any]:
        """Sockets, polls and event counts (frames left out: they can be many)."""
        data: dict[str, Any] = await self.page.evaluate(
            """() => ({
                sockets: window.__rv.sockets,
                polls: window.__rv.polls.length,
                pollsFailed: window.__rv.polls.filter(p => p.done && p.status !== 200).length,
                sio: window.__rv.sio,
                lastPoll: window.__rv.polls.length ? window.__rv.polls[window.__rv.polls.length - 1] : null,
                lastFailedPoll: window.__rv.polls.filter(p => p.done && p.status !== 200).slice(-1)[0] || null,
                eventCounts: window.__rv.eventCounts,
                frames: window.__rv.frames.length,
            })"""
        )
        return data

    async def connects(self) -> int:
        """How many times the page's Socket.IO connection has connected so far."""
        count: int = await self.page.evaluate("() => window.__rv.sio.connects")
        return count

    async def is_connected(self) -> bool:
        connected: bool = await self.page.evaluate("() => window.__rv.sio.connected")
        return connected

    async def wait_upgraded_after(self, t_ms: float, timeout_s: float) -> bool:
        """Wait until a WebSocket created after `t_ms` is open and past the Engine.IO upgrade."""
        try:
            await self.page.wait_for_function(
                """(t) => window.__rv.sockets.some(s => s.created >= t && s.opened && !s.closed
                    && (s.upgraded || s.openPacket))""",
                arg=t_ms,
                timeout=timeout_s * 1000,
            )
        except PlaywrightTimeout:
            return False
        return True

    async def wait_connects(self, count: int, timeout_s: float) -> bool:
        """Wait until the connection has connected `count` times in all and is up; False if not in time."""
        try:
            await self.page.wait_for_function(
                "(n) => window.__rv.sio.connects >= n && window.__rv.sio.connected", arg=count, timeout=timeout_s * 1000
            )
        except PlaywrightTimeout:
            return False
        return True

    async def wait_disconnected(self, timeout_s: float) -> bool:
        """Wait until the page's connection is down; False when it stayed up for `timeout_s`."""
        try:
            await self.page.wait_for_function("() => !window.__rv.sio.connected", timeout=timeout_s * 1000)
        except PlaywrightTimeout:
            return False
        return True

    async def watch_selector(self, css: str, label: str) -> bool:
        """Record in the timeline each time `css` starts or stops matching (the connection badge).
        False when the selector is not CSS (Playwright's `text=`... cannot be watched in the page)."""
        watching: bool = await self.page.evaluate(
            """([css, label]) => {
                try { document.querySelector(css); } catch { return false; }
                let present = !!document.querySelector(css);
                new MutationObserver(() => {
                    const now = !!document.querySelector(css);
                    if (now !== present) {
                        present = now;
                        window.__rv.timeline.push({t: performance.timeOrigin + performance.now(),
                            what: now ? label + " shown" : label + " gone", detail: null});
                    }
                }).observe(document, {subtree: true, childList: true, attributes: true, characterData: true});
                return true;
            }""",
            [css, label],
        )
        return watching

    async def wait_timeline(self, what: str, *, after: float, timeout_s: float) -> float | None:
        """When the timeline first recorded `what` after `after` (epoch ms); None if not within the timeout."""
        try:
            handle = await self.page.wait_for_function(
                """([what, after]) => {
                    const hit = window.__rv.timeline.find(e => e.what === what && e.t >= after);
                    return hit ? hit.t : null;
                }""",
                arg=[what, after],
                timeout=timeout_s * 1000,
            )
        except PlaywrightTimeout:
            return None
        return float(await handle.json_value())

    async def timeline(self) -> list[dict[str, Any]]:
        """What the page's connection went through: created, opened, connect, disconnect, upgrade..."""
        events: list[dict[str, Any]] = await self.page.evaluate("() => window.__rv.timeline")
        return events

    async def last_click(self) -> float | None:
        """When the last click in this page happened (epoch ms)."""
        value: float | None = await self.page.evaluate(
            "() => window.__rv.clicks.length ? window.__rv.clicks[window.__rv.clicks.length - 1].t : null"
        )
        return value

    async def event_frames(self, event: str, direction: str = "in") -> list[dict[str, Any]]:
        frames: list[dict[str, Any]] = await self.page.evaluate(
            "([event, dir]) => window.__rv.frames.filter(f => f.event === event && f.dir === dir)",
            [event, direction],
        )
        return frames

    async def wait_frames(self, direction: str, event: str, count: int, timeout_s: float) -> bool:
        """Wait until `count` frames of `event` went in `direction`; False when they did not in time."""
        try:
            await self.page.wait_for_function(
                "([d, e, n]) => window.__rv.frames.filter(f => f.dir === d && f.event === e).length >= n",
                arg=[direction, event, count],
                timeout=timeout_s * 1000,
            )
        except PlaywrightTimeout:
            return False
        return True

    async def wait_engineio_pings(self, count: int, timeout_s: float) -> bool:
        """Wait until the page received `count` Engine.IO pings from the server; False if not in time."""
        try:
            await self.page.wait_for_function(
                "(n) => window.__rv.frames.filter(f => f.dir === 'in' && f.eio === '2' && !f.probe).length >= n",
                arg=count,
                timeout=timeout_s * 1000,
            )
        except PlaywrightTimeout:
            return False
        return True

    async def engineio_heartbeat(self) -> tuple[list[float], list[float]]:
        """When the server's Engine.IO pings arrived and the page's pongs left (epoch ms)."""
        pings: list[float] = await self.page.evaluate(
            "() => window.__rv.frames.filter(f => f.dir === 'in' && f.eio === '2' && !f.probe).map(f => f.t)"
        )
        pongs: list[float] = await self.page.evaluate(
            "() => window.__rv.frames.filter(f => f.dir === 'out' && f.eio === '3' && !f.probe).map(f => f.t)"
        )
        return pings, pongs

    async def frames_carrying(self, marker: str) -> list[dict[str, Any]]:
        """Frames (either direction) whose payload carries `marker`, oldest first."""
        frames: list[dict[str, Any]] = await self.page.evaluate(
            "(m) => window.__rv.frames.filter(f => (f.markers || []).includes(m))", marker
        )
        return frames

    async def frames(self) -> list[dict[str, Any]]:
        frames: list[dict[str, Any]] = await self.page.evaluate("() => window.__rv.frames")
        return frames

    async def marker_times(self, markers: list[str]) -> dict[str, MarkerTimes]:
        raw: dict[str, dict[str, float | None]] = await self.page.evaluate(
            """(markers) => Object.fromEntries(markers.map(m => [m, {
                sent: (window.__rv.markers[m] || {}).sent ?? null,
                received: (window.__rv.markers[m] || {}).received ?? null,
                rendered: window.__rv.renders[m] ?? null,
            }]))""",
            markers,
        )
        return {m: MarkerTimes(v["sent"], v["received"], v["rendered"]) for m, v in raw.items()}

    async def render_log(self, marker: str) -> list[dict[str, Any]]:
        log: list[dict[str, Any]] = await self.page.evaluate(
            "(m) => window.__rv.renderLog.filter(e => e.marker === m)", marker
        )
        return log

    async def removed_after_render(self, text: str) -> bool:
        """True when a marker in `text` rendered on this page once and is no longer anywhere in its DOM:
        the page took away what it had shown. False when none of `text`'s markers ever rendered, or
        one is still on the page."""
        gone: bool = await self.page.evaluate(
            """([text, fallback]) => {
                const pattern = (window.__rvConfig || {}).markerPattern || fallback;
                const markers = text.match(new RegExp(pattern, "g")) || [];
                const shown = document.body ? document.body.textContent : "";
                return markers.some(m => m in window.__rv.renders) && !markers.some(m => shown.includes(m));
            }""",
            [text, MARKER_PATTERN],
        )
        return gone

    async def wait_upgraded(self, socket_path: str, timeout_s: float) -> bool:
        """Wait until a WebSocket on the socket path is open and past the Engine.IO upgrade.

        The page connects on polling and upgrades a few milliseconds later, so a connected badge
        does not yet mean websocket. False when it never happens (the caller judges why), and at
        once when it has failed: Engine.IO probes the upgrade once per connection, so a WebSocket
        that closed without ever opening, with no other on the path, is not followed by another.
        """
        try:
            handle = await self.page.wait_for_function(
                """(path) => {
                    const mine = window.__rv.sockets.filter(s => new URL(s.url).pathname.startsWith(path));
                    if (mine.some(s => s.opened && !s.closed && (s.upgraded || s.openPacket))) return "upgraded";
                    // A second after the last close, so a page that reconnects (after a login) has made its next one.
                    const failed = mine.length && mine.every(s => s.closed && !s.opened)
                        && Date.now() - Math.max(...mine.map(s => s.closed)) > 1000;
                    return failed ? "failed" : null;
                }""",
                arg=socket_path,
                timeout=timeout_s * 1000,
            )
        except PlaywrightTimeout:
            return False
        return bool(await handle.json_value() == "upgraded")

    async def wait_connected(self, timeout_s: float) -> bool:
        """Wait until the page's Socket.IO connection is up by the protocol's own measure: the server's
        CONNECT packet arrived (over WebSocket or long-polling) and nothing closed it since. For pages
        with no connection badge, and for every reconnect."""
        try:
            await self.page.wait_for_function("() => window.__rv.sio.connected", timeout=timeout_s * 1000)
        except PlaywrightTimeout:
            return False
        return True

    async def wait_rendered(self, marker: str, timeout_s: float, *, text: str | None = None) -> float:
        """Wait until `marker` is in the DOM (with `text` in the same element, if given)."""
        try:
            handle = await self.page.wait_for_function(
                """([m, text]) => {
                    const hit = window.__rv.renderLog.find(e => e.marker === m && (!text || e.text.includes(text)));
                    return hit ? hit.t : null;
                }""",
                arg=[marker, text],
                timeout=timeout_s * 1000,
            )
        except PlaywrightTimeout:
            seen = await self.render_log(marker)
            what = f"{marker!r}" + (f" showing {text!r}" if text else "")
            raise WaitTimeout(
                f"{self.name}: waited {timeout_s:g} s for {what} to render; it showed "
                + (", ".join(repr(e["text"][:80]) for e in seen[-3:]) or "nothing with that marker")
            ) from None
        return float(await handle.json_value())
