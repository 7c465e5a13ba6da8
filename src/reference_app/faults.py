"""The reference app's own switchable faults: realistic breakages of the real-time design.

Each is a bug seen in real apps. The suite's self-tests switch them on one at a time and expect the
checks that guard against that bug, and only those, to fail. Faults of nginx and of the edge live in
the harness (`realtime_verify.faults`); these are the ones inside the app and its page.
"""

from __future__ import annotations

APP_FAULTS: dict[str, str] = {
    "no-broadcast": "chat and order updates are emitted back to the sender only, never to others",
    "chat-leaks-to-all": "chat messages are emitted to every connected client, not the two participants",
    "no-resync": "the page does not fetch what it missed after a reconnect",
    "duplicate-on-resync": "the page appends resync results without de-duplicating them",
    "no-reconnect": "the page's socket gives up after the first disconnect",
    "no-missed-pong-check": "the page sends health:ping but never acts on missed pongs",
    "no-pong": "the server ignores health:ping",
    "sw-intercepts-socket": "the service worker answers /socket.io/ requests itself (and caches them)",
    "sender-spoofable": "the server trusts the sender_id a client puts in a chat message",
    "no-socket-auth": "the server accepts socket connections without a valid token",
}


def parse_faults(raw: str) -> frozenset[str]:
    """Parse a comma-separated list of fault names; unknown names are an error."""
    names = frozenset(filter(None, (part.strip() for part in raw.split(","))))
    unknown = sorted(names - APP_FAULTS.keys())
    if unknown:
        valid = ", ".join(sorted(APP_FAULTS))
        raise ValueError(f"unknown fault(s) {', '.join(unknown)}; valid: {valid}")
    return names
