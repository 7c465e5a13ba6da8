"""What the embedded stack is started with (`StackConfig`), its timers, and what it reports back."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from realtime_verify.net import NetworkOptions, normalize_socket_path

READY_PREFIX = "REALTIME-VERIFY-READY "  # the supervisor's one line on stdout, then the StackInfo JSON


@dataclass(frozen=True)
class Timers:
    """Every timer that decides how fast a broken link is noticed, in one place."""

    ping_interval_s: float
    ping_timeout_s: float
    heartbeat_interval_ms: int
    missed_pong_limit: int
    nginx_read_timeout_s: float
    edge_idle_timeout_s: float
    reconnect_delay_ms: int = 1000  # the page's socket.io-client backoff: first delay...
    reconnect_delay_max_ms: int = 5000  # ...and its ceiling

    @classmethod
    def production(cls) -> Timers:
        """python-socketio's defaults, the checklist's 30 s heartbeat, Cloudflare's ~100 s, 1-5 s backoff."""
        return cls(25.0, 20.0, 30_000, 3, 120.0, 100.0, 1000, 5000)

    @classmethod
    def compressed(cls) -> Timers:
        """Same proportions, seconds instead of minutes: fault checks finish quickly."""
        return cls(3.0, 3.0, 500, 3, 10.0, 12.0, 300, 1500)

    @property
    def socket_silence_s(self) -> float:
        """How long a client waits without a server ping before it calls the link dead."""
        return self.ping_interval_s + self.ping_timeout_s


@dataclass(frozen=True)
class PageEnv:
    """How the page's NEXT_PUBLIC_* settings differ from a healthy build (what env faults change)."""

    enable_websockets: str = "true"
    insecure_url: bool = False  # ws:// instead of wss://
    websocket_path: str | None = None  # None: the socket path the server serves
    configmap_url_without_port: bool = False  # the ConfigMap holds an old URL the .env no longer has


@dataclass(frozen=True)
class StackConfig:
    """What to start: faults, timers, the mapped host name and the socket path."""

    faults: tuple[str, ...] = ()
    timers: Timers = field(default_factory=Timers.compressed)
    hostname: str = "app.test"
    socket_path: str = "/socket.io/"
    app_version: str = "1"
    log_level: str = "warning"

    def __post_init__(self) -> None:
        from realtime_verify.stack.faults import resolve_faults

        resolve_faults(self.faults)  # unknown names fail here, with a suggestion
        object.__setattr__(self, "socket_path", normalize_socket_path(self.socket_path))

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: str) -> StackConfig:
        data = json.loads(raw)
        return cls(**{**data, "faults": tuple(data["faults"]), "timers": Timers(**data["timers"])})


@dataclass(frozen=True)
class StackInfo:
    """Where the started stack answers, and how to trust and reach it."""

    base_url: str
    hostname: str
    socket_path: str
    edge_port: int
    nginx_port: int
    app_port: int
    control_url: str
    ca_file: str
    spki_sha256: str
    users: dict[str, str]
    timers: Timers
    faults: tuple[str, ...]
    workdir: str
    nginx_conf: str
    env_file: str
    k8s_file: str
    cf_api_url: str
    cf_zone_id: str
    cf_zone_name: str
    cf_token: str
    pids: dict[str, int]

    @property
    def socket_url(self) -> str:
        return self.base_url.replace("https://", "wss://", 1) + self.socket_path

    @property
    def network(self) -> NetworkOptions:
        return NetworkOptions(
            resolve={self.hostname: "127.0.0.1"},
            ca_file=Path(self.ca_file),
            spki_sha256=(self.spki_sha256,),
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self))

    @classmethod
    def from_json(cls, raw: str) -> StackInfo:
        data = json.loads(raw)
        return cls(**{**data, "timers": Timers(**data["timers"]), "faults": tuple(data["faults"])})
