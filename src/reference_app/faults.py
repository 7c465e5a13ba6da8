"""The switches the reference app implements, by name: realistic breakages of the real-time design.

What each one breaks, and which checks must catch it, is written once, in the harness's fault
catalogue (`realtime_verify.stack.faults`, layer "app"); a test holds the two lists to each other.
"""

from __future__ import annotations

APP_FAULTS = frozenset(
    {
        "no-broadcast",
        "chat-leaks-to-all",
        "no-resync",
        "duplicate-on-resync",
        "no-reconnect",
        "no-missed-pong-check",
        "no-pong",
        "sw-intercepts-socket",
        "sw-no-skip-waiting",
        "sender-spoofable",
        "slow-connect-handler",
        "no-socket-auth",
    }
)


def parse_faults(raw: str) -> frozenset[str]:
    """Parse a comma-separated list of fault names; unknown names are an error."""
    names = frozenset(filter(None, (part.strip() for part in raw.split(","))))
    unknown = sorted(names - APP_FAULTS)
    if unknown:
        raise ValueError(f"unknown fault(s) {', '.join(unknown)}; valid: {', '.join(sorted(APP_FAULTS))}")
    return names
