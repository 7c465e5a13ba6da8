"""Settings of the reference app, read from the process environment.

The `NEXT_PUBLIC_*` names are the ones of the checklist this app implements: a Next.js app reads them
at build time; this app serves them to its page at run time from `/api/config`.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from reference_app.faults import parse_faults

DEFAULT_USERS = "alice:alice-password,bob:bob-password,carol:carol-password"


class SettingsError(ValueError):
    """An environment variable of the reference app has a value it cannot use."""


@dataclass(frozen=True)
class Settings:
    """Everything the reference app can be told from its environment."""

    database_path: Path = Path("reference-app.sqlite3")
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    token_ttl_s: int = 3600
    users: tuple[tuple[str, str], ...] = ()
    ping_interval_s: float = 25.0
    ping_timeout_s: float = 20.0
    app_version: str = "1"
    socket_path: str = "/socket.io"  # where the server serves socket.io (RA_SOCKET_PATH)
    # What the page is told (the NEXT_PUBLIC_* equivalents and the heartbeat of its provider).
    enable_websockets: str = "true"
    websocket_url: str = ""
    websocket_path: str = "/socket.io"
    heartbeat_interval_ms: int = 30_000
    missed_pong_limit: int = 3
    reconnect_delay_ms: int = 1000
    reconnect_delay_max_ms: int = 5000
    socketio_client_js: Path | None = None
    faults: frozenset[str] = frozenset()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from `env` (default: the process environment)."""
        env = os.environ if env is None else env
        defaults = cls()
        return cls(
            database_path=Path(env.get("RA_DATABASE", str(defaults.database_path))),
            secret_key=env.get("RA_SECRET_KEY") or defaults.secret_key,
            token_ttl_s=_int(env, "RA_TOKEN_TTL_S", defaults.token_ttl_s),
            users=_users(env.get("RA_USERS", DEFAULT_USERS)),
            ping_interval_s=_float(env, "RA_PING_INTERVAL_S", defaults.ping_interval_s),
            ping_timeout_s=_float(env, "RA_PING_TIMEOUT_S", defaults.ping_timeout_s),
            app_version=env.get("RA_APP_VERSION", defaults.app_version),
            socket_path="/" + env.get("RA_SOCKET_PATH", defaults.socket_path).strip("/"),
            enable_websockets=env.get("NEXT_PUBLIC_ENABLE_WEBSOCKETS", defaults.enable_websockets),
            websocket_url=env.get("NEXT_PUBLIC_WEBSOCKET_URL", defaults.websocket_url),
            # The page connects where the server serves, unless told otherwise (a mismatch is a fault).
            websocket_path=env.get(
                "NEXT_PUBLIC_WEBSOCKET_PATH", "/" + env.get("RA_SOCKET_PATH", defaults.websocket_path).strip("/")
            ),
            heartbeat_interval_ms=_int(env, "RA_HEARTBEAT_INTERVAL_MS", defaults.heartbeat_interval_ms),
            missed_pong_limit=_int(env, "RA_MISSED_PONG_LIMIT", defaults.missed_pong_limit),
            reconnect_delay_ms=_int(env, "RA_RECONNECT_DELAY_MS", defaults.reconnect_delay_ms),
            reconnect_delay_max_ms=_int(env, "RA_RECONNECT_DELAY_MAX_MS", defaults.reconnect_delay_max_ms),
            socketio_client_js=Path(env["RA_SOCKETIO_CLIENT_JS"]) if env.get("RA_SOCKETIO_CLIENT_JS") else None,
            faults=_faults(env.get("RA_FAULTS", "")),
        )


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number") from None


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a number of seconds") from None


def _users(raw: str) -> tuple[tuple[str, str], ...]:
    users = []
    for item in filter(None, (part.strip() for part in raw.split(","))):
        name, sep, password = item.partition(":")
        if not sep or not name or not password:
            raise SettingsError(f"RA_USERS entry {item!r} is not of the form name:password")
        users.append((name, password))
    return tuple(users)


def _faults(raw: str) -> frozenset[str]:
    try:
        return parse_faults(raw)
    except ValueError as error:
        raise SettingsError(f"RA_FAULTS: {error}") from None
