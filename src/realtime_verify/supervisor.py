"""The process that owns the embedded stack: the app, nginx, the edge emulator, the temp folder.

`python -m realtime_verify.supervisor '<StackConfig JSON>'` starts everything on free loopback
ports, prints one `REALTIME-VERIFY-READY {json}` line, serves a small control API for faults and
restarts, and stops everything, by PID, when its stdin closes or it gets SIGTERM/SIGINT.
`realtime-verify serve` runs the same `Supervisor` in the foreground.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import importlib.util
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import ssl
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

import aiohttp
import trustme
from aiohttp import web

from realtime_verify.edge import EdgeBehaviour, EdgeEmulator
from realtime_verify.edge_zone import ZoneSettings, zone_response
from realtime_verify.errors import RealtimeVerifyError, SetupError, TargetUnreachable
from realtime_verify.faults import in_layer, resolve_faults
from realtime_verify.net import NetworkOptions, spki_sha256
from realtime_verify.nginx_conf import find_nginx, render_app_conf, render_main_conf
from realtime_verify.stack import READY_PREFIX, StackConfig, StackInfo

logger = logging.getLogger("realtime_verify.supervisor")

READY_TIMEOUT_S = 20.0
STOP_TIMEOUT_S = 5.0
USERS = ("alice", "bob", "carol")


def _die_with_parent() -> None:
    """In the child, before exec: get SIGTERM when the process that started us dies (Linux)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def reference_app_dir() -> Path:
    """Where the reference app lives, found without importing it (the harness never does)."""
    spec = importlib.util.find_spec("reference_app")
    if spec is None or not spec.submodule_search_locations:
        raise SetupError("the reference app is not installed: run `make verify` or `pip install -e .`")
    return Path(next(iter(spec.submodule_search_locations)))


class Child:
    """A child process whose output goes to a log file; stopped by PID."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log: Path) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.log = log
        self.process: asyncio.subprocess.Process | None = None
        self.expected_exit = False

    async def start(self) -> None:
        self.expected_exit = False
        with self.log.open("ab") as log:
            self.process = await asyncio.create_subprocess_exec(
                *self.argv,
                stdin=asyncio.subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                env=self.env,
                preexec_fn=_die_with_parent,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        return self.process.pid if self.process else 0

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def stop(self) -> None:
        process = self.process
        if process is None or process.returncode is not None:
            return
        self.expected_exit = True
        with contextlib.suppress(ProcessLookupError):
            process.terminate()
        try:
            await asyncio.wait_for(process.wait(), STOP_TIMEOUT_S)
        except TimeoutError:
            logger.warning("%s (pid %d) ignored SIGTERM; killing it", self.name, process.pid)
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()

    def log_tail(self, lines: int = 20) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def died(self) -> TargetUnreachable:
        code = self.process.returncode if self.process else None
        return TargetUnreachable(
            "stack",
            f"{self.name} exited with code {code}; the end of {self.log}:\n{self.log_tail()}",
        )


class Supervisor:
    """Starts, watches and stops the stack; serves the control API."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        faults = resolve_faults(config.faults)
        self.app_faults = in_layer(faults, "app")
        self.env_faults = in_layer(faults, "env")
        self.nginx_faults = in_layer(faults, "nginx")
        self.edge_faults = in_layer(faults, "edge")
        self.timer_faults = in_layer(faults, "timers")
        zone_faults = in_layer(faults, "zone")
        self.zone_settings = ZoneSettings(
            bic_exception_for_socket="zone-bic-on-socket" not in zone_faults,
            bot_fight_mode="zone-bot-fight-mode" in zone_faults,
            argo="zone-argo-on" in zone_faults,
        )
        self.workdir = Path(tempfile.mkdtemp(prefix="realtime-verify-"))
        self.app: Child | None = None
        self.nginx: Child | None = None
        self.edge: EdgeEmulator | None = None
        self.control: web.AppRunner | None = None
        self.info: StackInfo | None = None
        self.app_version = config.app_version
        self._stopped = asyncio.Event()
        # The edge's emulated Cloudflare zone, audited through the SDK like a real one.
        self.zone_id = secrets.token_hex(16)
        self.cf_token = secrets.token_urlsafe(24)

    # Start ---------------------------------------------------------------------------------------

    async def start(self) -> StackInfo:
        """Start every part and wait until each answers; on failure stop what started."""
        try:
            return await self._start()
        except BaseException:
            await self.stop()
            raise

    async def _start(self) -> StackInfo:
        started = time.monotonic()
        config, timers = self.config, self.config.timers
        # nginx workers run as an unprivileged user when we are root: let them reach the prefix.
        self.workdir.chmod(0o755)
        ca = trustme.CA()
        cert = ca.issue_cert(config.hostname)
        ca_file = self.workdir / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_ctx.set_alpn_protocols(["http/1.1"])
        cert.configure_cert(server_ctx)

        app_port, nginx_port = free_port(), free_port()
        self.edge = EdgeEmulator(
            ("127.0.0.1", nginx_port),
            server_ctx,
            behaviour=EdgeBehaviour(
                challenge_socket="edge-challenge-socket" in self.edge_faults,
                cache_socket="edge-cache-socket" in self.edge_faults,
                cloudflare_headers="edge-dns-only" not in self.edge_faults,
                websockets="edge-websockets-off" not in self.edge_faults,
                idle_timeout_s=timers.edge_idle_timeout_s,
            ),
        )
        edge_port = await self.edge.start()
        base_url = f"https://{config.hostname}:{edge_port}"

        users = {name: secrets.token_urlsafe(12) for name in USERS}
        env_file = self.workdir / "app.env"
        app_env = self._app_env(base_url, users)
        public = {k: v for k, v in app_env.items() if k.startswith("NEXT_PUBLIC_")}
        env_file.write_text("".join(f"{k}={v}\n" for k, v in public.items()))
        k8s_file = self.workdir / "web-configmap.yaml"
        k8s_file.write_text(self._configmap(public))
        self.app = Child(
            "reference app",
            [
                sys.executable,
                "-m",
                "reference_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(app_port),
                "--log-level",
                config.log_level,
            ],
            {**os.environ, **app_env},
            self.workdir / "app.log",
        )
        await self.app.start()

        nginx_conf = self._write_nginx_conf(nginx_port, app_port)
        self.nginx = Child(
            "nginx",
            [
                find_nginx(),
                "-p",
                str(self.workdir),
                "-c",
                str(nginx_conf),
                "-e",
                str(self.workdir / "error.log"),
            ],
            dict(os.environ),
            self.workdir / "nginx.log",
        )
        await self.nginx.start()

        network = NetworkOptions(resolve={config.hostname: "127.0.0.1"}, ca_file=ca_file)
        await self._wait_ready(self.app, f"http://127.0.0.1:{app_port}/api/health", network)
        await self._wait_ready(self.nginx, f"http://127.0.0.1:{nginx_port}/api/health", network)
        await self._wait_ready(None, f"{base_url}/api/health", network)

        self.control = web.AppRunner(self._control_app(), access_log=None)
        await self.control.setup()
        site = web.TCPSite(self.control, "127.0.0.1", 0)
        await site.start()
        control_port = self.control.addresses[0][1]

        self.info = StackInfo(
            base_url=base_url,
            hostname=config.hostname,
            edge_port=edge_port,
            nginx_port=nginx_port,
            app_port=app_port,
            control_url=f"http://127.0.0.1:{control_port}",
            ca_file=str(ca_file),
            spki_sha256=spki_sha256(cert.cert_chain_pems[0].bytes()),
            users=users,
            timers=timers,
            faults=config.faults,
            workdir=str(self.workdir),
            nginx_conf=str(self.workdir / "app.conf"),
            env_file=str(env_file),
            k8s_file=str(k8s_file),
            cf_api_url=f"http://127.0.0.1:{control_port}/client/v4",
            cf_zone_id=self.zone_id,
            cf_zone_name=config.hostname,
            cf_token=self.cf_token,
            pids={"supervisor": os.getpid(), "app": self.app.pid, "nginx": self.nginx.pid},
        )
        logger.info("stack ready in %.2f s at %s", time.monotonic() - started, base_url)
        return self.info

    def _app_env(self, base_url: str, users: dict[str, str]) -> dict[str, str]:
        timers = self.config.timers
        ping_interval = timers.ping_interval_s
        if "ping-above-edge-timeout" in self.timer_faults:
            ping_interval = timers.edge_idle_timeout_s * 1.2
        socket_url = base_url.replace("https://", "wss://", 1)
        if "insecure-socket-url" in self.env_faults:
            socket_url = base_url.replace("https://", "ws://", 1)
        return {
            "RA_DATABASE": str(self.workdir / "app.sqlite3"),
            "RA_SECRET_KEY": secrets.token_urlsafe(32),
            "RA_USERS": ",".join(f"{name}:{password}" for name, password in users.items()),
            "RA_PING_INTERVAL_S": f"{ping_interval:g}",
            "RA_PING_TIMEOUT_S": f"{timers.ping_timeout_s:g}",
            "RA_HEARTBEAT_INTERVAL_MS": str(timers.heartbeat_interval_ms),
            "RA_MISSED_PONG_LIMIT": str(timers.missed_pong_limit),
            "RA_APP_VERSION": self.app_version,
            "RA_FAULTS": ",".join(sorted(self.app_faults)),
            "NEXT_PUBLIC_ENABLE_WEBSOCKETS": "false" if "websockets-disabled" in self.env_faults else "true",
            "NEXT_PUBLIC_WEBSOCKET_URL": socket_url,
            "NEXT_PUBLIC_WEBSOCKET_PATH": "/ws" if "socket-path-mismatch" in self.env_faults else "/socket.io",
        }

    def _configmap(self, public: dict[str, str]) -> str:
        """The same public settings as a Kubernetes ConfigMap: a second source the audit compares."""
        values = dict(public)
        if "env-sources-disagree" in self.env_faults:
            # A ConfigMap nobody updated when the socket moved behind the edge's port.
            values["NEXT_PUBLIC_WEBSOCKET_URL"] = f"wss://{self.config.hostname}"
        data = "".join(f"  {k}: {json.dumps(v)}\n" for k, v in values.items())
        return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-public-env\ndata:\n{data}"

    def _write_nginx_conf(self, nginx_port: int, app_port: int) -> Path:
        timers = self.config.timers
        app_conf = self.workdir / "app.conf"
        app_conf.write_text(
            render_app_conf(
                reference_app_dir() / "deploy" / "nginx.prod.conf",
                listen_port=nginx_port,
                upstream=("127.0.0.1", app_port),
                read_timeout_s=timers.nginx_read_timeout_s,
                ping_interval_s=timers.ping_interval_s,
                ping_timeout_s=timers.ping_timeout_s,
                faults=self.nginx_faults,
            )
        )
        (self.workdir / "temp").mkdir()
        main_conf = self.workdir / "nginx.conf"
        main_conf.write_text(render_main_conf(self.workdir, app_conf))
        return main_conf

    async def _wait_ready(self, child: Child | None, url: str, network: NetworkOptions) -> None:
        """Poll `url` until it answers 200; fail at once if the child dies meanwhile."""
        deadline = time.monotonic() + READY_TIMEOUT_S
        last_error = "no answer yet"
        timeout = aiohttp.ClientTimeout(total=2)
        async with network.session(timeout=timeout) as session:
            while time.monotonic() < deadline:
                if child is not None and not child.alive:
                    raise child.died()
                try:
                    async with session.get(url) as response:
                        if response.status == 200:
                            return
                        last_error = f"HTTP {response.status}"
                except (aiohttp.ClientError, OSError, TimeoutError) as error:
                    last_error = str(error) or type(error).__name__
                await asyncio.sleep(0.02)  # a readiness poll, bounded by the deadline
        name = child.name if child else "the edge emulator"
        tail = f"\n{child.log_tail()}" if child else ""
        raise TargetUnreachable(
            "stack",
            f"{name} did not answer {url} within {READY_TIMEOUT_S:g} s ({last_error}){tail}",
        )

    # Restarts (deploys) --------------------------------------------------------------------------

    async def restart_backend(self, app_version: str | None = None) -> None:
        assert self.app is not None
        assert self.info is not None
        await self.app.stop()
        if app_version:
            self.app_version = app_version
            self.app.env["RA_APP_VERSION"] = app_version
        await self.app.start()
        network = self.info.network
        await self._wait_ready(self.app, f"http://127.0.0.1:{self.info.app_port}/api/health", network)

    async def restart_nginx(self) -> None:
        assert self.nginx is not None
        assert self.info is not None
        await self.nginx.stop()
        await self.nginx.start()
        network = self.info.network
        await self._wait_ready(self.nginx, f"http://127.0.0.1:{self.info.nginx_port}/api/health", network)

    # Stop ----------------------------------------------------------------------------------------

    async def stop(self) -> None:
        """Stop everything that started, in order, and remove the temp folder."""
        if self.control is not None:
            await self.control.cleanup()
            self.control = None
        if self.edge is not None:
            await self.edge.stop()
        for child in (self.nginx, self.app):
            if child is not None:
                await child.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)
        self._stopped.set()

    def request_stop(self) -> None:
        self._stopped.set()

    async def wait_stop_requested(self) -> None:
        await self._stopped.wait()

    # Control API ---------------------------------------------------------------------------------

    def _control_app(self) -> web.Application:
        app = web.Application()
        routes: dict[str, Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]] = {
            "/status": self._status,
            "/edge/drop": self._drop,
            "/edge/refuse": self._refuse,
            "/edge/blackhole": self._blackhole,
            "/edge/resume": self._resume,
            "/edge/behaviour": self._behaviour,
            "/edge/reset": self._reset,
            "/backend/restart": self._restart_backend,
            "/nginx/restart": self._restart_nginx,
            "/shutdown": self._shutdown,
        }
        for path, handler in routes.items():
            app.router.add_post(path, self._json_handler(handler))
        app.router.add_get("/status", self._json_handler(self._status))
        app.router.add_route("*", "/client/v4{tail:.*}", self._cloudflare_api)
        return app

    async def _cloudflare_api(self, request: web.Request) -> web.Response:
        """The edge's zone in the shape of Cloudflare's API (see edge_zone)."""
        assert self.edge is not None
        if request.headers.get("Authorization") != f"Bearer {self.cf_token}":
            status, body = (
                401,
                {
                    "success": False,
                    "errors": [{"code": 10000, "message": "Authentication error"}],
                    "messages": [],
                    "result": None,
                },
            )
        else:
            status, body = zone_response(
                request.method,
                request.match_info["tail"],
                zone_id=self.zone_id,
                zone_name=self.config.hostname,
                socket_path="/socket.io/",
                behaviour=self.edge.behaviour,
                settings=self.zone_settings,
            )
        return web.json_response(body, status=status)

    def _json_handler(
        self, handler: Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def wrapped(request: web.Request) -> web.Response:
            payload = await request.json() if request.can_read_body else {}
            try:
                return web.json_response(await handler(payload or {}))
            except (RealtimeVerifyError, ValueError, TypeError, KeyError) as error:
                return web.json_response({"error": str(error)}, status=400)

        return wrapped

    async def _status(self, payload: dict[str, Any]) -> dict[str, Any]:
        assert self.edge is not None
        assert self.app is not None
        assert self.nginx is not None
        return {
            "edge": self.edge.status(),
            "app": {"pid": self.app.pid, "alive": self.app.alive},
            "nginx": {"pid": self.nginx.pid, "alive": self.nginx.alive},
        }

    async def _drop(self, payload: dict[str, Any]) -> dict[str, Any]:
        assert self.edge is not None
        mode = payload.get("mode", "fin")
        if mode not in ("fin", "rst"):
            raise ValueError("mode must be 'fin' or 'rst'")
        return {"dropped": self.edge.drop_all(mode)}

    async def _refuse(self, payload: dict[str, Any]) -> dict[str, Any]:
        assert self.edge is not None
        self.edge.refuse_for(_seconds(payload))
        return {"ok": True}

    async def _blackhole(self, payload: dict[str, Any]) -> dict[str, Any]:
        assert self.edge is not None
        self.edge.blackhole_for(_seconds(payload))
        return {"ok": True}

    async def _resume(self, payload: dict[str, Any]) -> dict[str, Any]:
        assert self.edge is not None
        self.edge.resume()
        return {"ok": True}

    async def _behaviour(self, payload: dict[str, Any]) -> dict[str, Any]:
        assert self.edge is not None
        known = {f.name for f in fields(EdgeBehaviour)}
        unknown = set(payload) - known
        if unknown:
            raise ValueError(f"unknown edge behaviour {sorted(unknown)}; known: {sorted(known)}")
        for key, value in payload.items():
            setattr(self.edge.behaviour, key, value)
        return {"behaviour": asdict(self.edge.behaviour)}

    async def _reset(self, payload: dict[str, Any]) -> dict[str, Any]:
        assert self.edge is not None
        self.edge.reset()
        return {"ok": True}

    async def _restart_backend(self, payload: dict[str, Any]) -> dict[str, Any]:
        await self.restart_backend(payload.get("app_version"))
        return {"ok": True, "pid": self.app.pid if self.app else 0}

    async def _restart_nginx(self, payload: dict[str, Any]) -> dict[str, Any]:
        await self.restart_nginx()
        return {"ok": True, "pid": self.nginx.pid if self.nginx else 0}

    async def _shutdown(self, payload: dict[str, Any]) -> dict[str, Any]:
        self.request_stop()
        return {"ok": True}


def _seconds(payload: dict[str, Any]) -> float:
    seconds = float(payload.get("seconds", 0))
    if not 0 < seconds <= 600:
        raise ValueError("seconds must be above 0 and at most 600 (fault loops are bounded)")
    return seconds


async def _watch_stdin(supervisor: Supervisor) -> None:
    """Our parent holds the other end of stdin: EOF means it is gone or wants us to stop."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while await reader.read(1024):
        pass
    supervisor.request_stop()


async def run(config: StackConfig) -> int:
    supervisor = Supervisor(config)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        loop.add_signal_handler(sig, supervisor.request_stop)
    try:
        info = await supervisor.start()
    except RealtimeVerifyError as error:
        print(f"realtime-verify: {error}", file=sys.stderr)
        return error.exit_code
    watcher = asyncio.create_task(_watch_stdin(supervisor))
    print(READY_PREFIX + info.to_json(), flush=True)
    try:
        await supervisor.wait_stop_requested()
    finally:
        watcher.cancel()
        await supervisor.stop()
    return 0


def main() -> int:
    _die_with_parent()
    logging.basicConfig(level=logging.WARNING, format="supervisor %(levelname)s %(message)s")
    if len(sys.argv) != 2:
        print("usage: python -m realtime_verify.supervisor '<StackConfig JSON>'", file=sys.stderr)
        return 2
    try:
        config = StackConfig.from_json(sys.argv[1])
    except RealtimeVerifyError as error:
        print(f"realtime-verify: {error}", file=sys.stderr)
        return error.exit_code
    return asyncio.run(run(config))


if __name__ == "__main__":
    sys.exit(main())
