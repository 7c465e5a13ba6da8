"""Judging what a page's socket did, from the in-page instrumentation's snapshot."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from realtime_verify.errors import CheckFailure

UPGRADE_FIX = (
    "in nginx's socket location set `proxy_http_version 1.1;`, "
    "`proxy_set_header Upgrade $http_upgrade;` and `proxy_set_header Connection $connection_upgrade;` "
    "(with the `map $http_upgrade $connection_upgrade` block); on Cloudflare turn WebSockets on"
)


def _socket_attempts(snapshot: dict[str, Any]) -> list[dict[str, Any]]:
    sockets: list[dict[str, Any]] = snapshot.get("sockets", [])
    return sockets


def diagnose_connection(snapshot: dict[str, Any], status_text: str, console: Sequence[str]) -> str:
    """One sentence on why a page's socket is not (or not properly) connected."""
    sockets = _socket_attempts(snapshot)
    polls = int(snapshot.get("polls", 0))
    failed_polls = int(snapshot.get("pollsFailed", 0))
    blocked = [s for s in sockets if s.get("error") and not s.get("opened") and "Error" in str(s["error"])]
    if blocked:
        s = blocked[-1]
        return f"the browser refused to open {s['url']}: {s['error']}"
    if not sockets and polls == 0:
        errors = [line for line in console if "realtime" in line or "socket" in line.lower()]
        detail = f"; console: {errors[-1]}" if errors else ""
        return f"the page opened no socket at all; its status says {status_text!r}{detail}"
    if polls and failed_polls == polls:
        last = snapshot.get("lastPoll") or {}
        return (
            f"every long-polling request failed (last: HTTP {last.get('status')} {last.get('url')});"
            f" its status says {status_text!r}"
        )
    opened = [s for s in sockets if s.get("opened")]
    if sockets and not opened:
        s = sockets[-1]
        return (
            f"{len(sockets)} WebSocket handshake(s) to {s['url']} failed (close code"
            f" {s.get('closeCode')}); something between the browser and the app refuses the upgrade"
        )
    if polls and not sockets:
        return f"the socket works over long-polling only ({polls} polls) and never tried a WebSocket"
    return f"its status says {status_text!r}"


def check_websocket_transport(
    snapshot: dict[str, Any],
    expected_ws_url: str,
    page_name: str,
    status_text: str,
    console: Sequence[str],
) -> dict[str, Any]:
    """RT-001: the page's socket is an open WebSocket to the expected URL, past the upgrade."""
    expected = urlsplit(expected_ws_url)
    attempts = [s for s in _socket_attempts(snapshot) if urlsplit(s["url"]).path.startswith(expected.path)]
    live = [s for s in attempts if s.get("opened") and not s.get("closed")]
    elsewhere = [s for s in _socket_attempts(snapshot) if s not in attempts]
    if not live and elsewhere:
        raise CheckFailure(
            "RT-001",
            f"{page_name}: the page opened its socket on {urlsplit(elsewhere[-1]['url']).path}, not on {expected.path}",
            fix="make NEXT_PUBLIC_WEBSOCKET_PATH (the page) and the server's socketio_path agree"
            " (NEXT_PUBLIC_* values are baked in at build time: rebuild after changing them)",
        )
    if not live:
        diagnosis = diagnose_connection(snapshot, status_text, console)
        stuck_on_polling = int(snapshot.get("polls", 0)) > int(snapshot.get("pollsFailed", 0))
        raise CheckFailure(
            "RT-001",
            f"{page_name}: no open WebSocket on {expected.path}: {diagnosis}"
            + (" — the socket silently stays on long-polling" if stuck_on_polling else ""),
            fix=UPGRADE_FIX
            if stuck_on_polling or attempts
            else "make the page open its socket (NEXT_PUBLIC_ENABLE_WEBSOCKETS=true, a wss:// URL, the right path)",
        )
    ws = live[-1]
    if not (ws.get("upgraded") or ws.get("openPacket")):
        raise CheckFailure(
            "RT-001",
            f"{page_name}: a WebSocket to {ws['url']} is open but the Engine.IO upgrade never completed"
            " (no 3probe/5 exchange and no open packet)",
            fix="check that the socket.io server accepts the websocket transport (allow_upgrades)",
        )
    actual = urlsplit(ws["url"])
    problems = []
    if actual.scheme != expected.scheme:
        problems.append(f"scheme {actual.scheme}:// instead of {expected.scheme}://")
    if actual.netloc != expected.netloc:
        problems.append(f"host {actual.netloc} instead of {expected.netloc}")
    if not actual.path.startswith(expected.path):
        problems.append(f"path {actual.path} instead of {expected.path}")
    if problems:
        raise CheckFailure(
            "RT-001",
            f"{page_name}: the socket opened {ws['url']}: " + "; ".join(problems),
            fix="set NEXT_PUBLIC_WEBSOCKET_URL / NEXT_PUBLIC_WEBSOCKET_PATH (and rebuild: NEXT_PUBLIC_*"
            " values are baked in at build time), or target.expected_ws_url if this is intended",
        )
    upgrade_ms = None
    if ws.get("upgraded") and ws.get("created"):
        upgrade_ms = round(float(ws["upgraded"]) - float(ws["created"]), 1)
    return {"url": ws["url"], "upgrade_ms": upgrade_ms, "websocket_attempts": len(attempts)}
