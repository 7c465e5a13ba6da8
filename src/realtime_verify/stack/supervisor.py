"""The process that owns the embedded stack: the app, nginx, the edge emulator, the temp folder.

`python -m realtime_verify.stack.supervisor '<StackConfig JSON>'` starts everything on free loopback
ports, prints one `REALTIME-VERIFY-READY {json}` line, serves the control API (`control.py`), and
stops everything, by PID, when its stdin closes or it gets SIGTERM/SIGINT. `realtime-verify serve`
runs the same loop in the foreground (`run_until_stopped`).

Long on purpose: starting, watching and stopping the children by PID, and the fault controls that
act on those same PIDs, read best in one place (the control API itself is `control.py`).
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import json
import logging
import os
import secrets
import shutil
import signal
import ssl
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import aiohttp
import trustme
from aiohttp import web

from realtime_verify.errors import RealtimeVerifyError, SetupError, TargetUnreachable
from realtime_verify.net import NetworkOptions, spki_sha256
from realtime_verify.stack.control import control_app, edge_overlays
from realtime_verify.stack.edge import EdgeEmulator
from realtime_verify.stack.faults import LayerSettings, build_settings
from realtime_verify.stack.process import Child, die_with_parent, free_port
from realtime_verify.stack.proxy import NginxProxy
from realtime_verify.stack.settings import READY_PREFIX, StackConfig, StackInfo
from realtime_verify.stack.zone import PREFIX as ZONE_API_PREFIX
from realtime_verify.stack.zone import ZoneApi

logger = logging.getLogger("realtime_verify.supervisor")

READY_TIMEOUT_S = 20.0
USERS = ("alice", "bob", "carol")
OWNER_FILE = "owner.pid"
WORKDIR_PREFIX = "realtime-verify-"


def sweep_orphans(min_age_s: float = 60.0) -> list[Path]:
    """Remove the temp folders of stacks whose supervisor died without cleaning up (SIGKILL)."""
    removed = []
    for folder in Path(tempfile.gettempdir()).glob(f"{WORKDIR_PREFIX}*"):
        try:
            if time.time() - folder.stat().st_mtime < min_age_s:
                continue  # a stack that is starting right now
            pid = int((folder / OWNER_FILE).read_text())
        except (OSError, ValueError):
            pid = 0
        if pid and _alive(pid):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        removed.append(folder)
    return removed


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def reference_app_dir() -> Path:
    """Where the reference app lives, found without importing it (the harness never does)."""
    spec = importlib.util.find_spec("reference_app")
    if spec is None or not spec.submodule_search_locations:
        raise SetupError("the reference app is not installed: run `make verify` or `pip install -e .`")
    return Path(next(iter(spec.submodule_search_locations)))


class Supervisor:
    """Starts, watches and stops the stack's processes; applies the layer settings the faults made."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.settings: LayerSettings = build_settings(config.faults, config.timers)
        self.workdir = Path(tempfile.mkdtemp(prefix=WORKDIR_PREFIX))
        self.app: Child | None = None
        self.proxy: NginxProxy | None = None
        self.edge: EdgeEmulator | None = None
        self.control: web.AppRunner | None = None
        self.info: StackInfo | None = None
        self.app_version = config.app_version
        self._stopped = asyncio.Event()
        # The edge's emulated Cloudflare zone, audited through the SDK like a real one; what it
        # reports follows what the edge does (a challenge on the socket path is a custom rule...).
        self.zone = ZoneApi(
            token=secrets.token_urlsafe(24),
            zone_id=secrets.token_hex(16),
            zone_name=config.hostname,
            site_host=config.hostname,
            socket_path=config.socket_path,
            overlays=self._zone_overlays,
        )

    def _zone_overlays(self) -> list[str]:
        behaviour = self.edge.behaviour if self.edge else self.settings.edge
        return [*self.settings.zone_overlays, *edge_overlays(behaviour)]

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
        config, settings = self.config, self.settings
        # Private: it holds the app's database, the CA key and the test accounts (nginx's workers run
        # as root when we are, see stack.nginx). The owner file lets a later run sweep it if we die.
        self.workdir.chmod(0o700)
        (self.workdir / OWNER_FILE).write_text(str(os.getpid()))
        ca = trustme.CA()
        cert = ca.issue_cert(config.hostname)
        ca_file = self.workdir / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        server_ctx.set_alpn_protocols(["http/1.1"])
        cert.configure_cert(server_ctx)

        app_port = free_port()
        # The edge learns nginx's port once nginx has started (nginx picks a free one).
        self.edge = EdgeEmulator(("127.0.0.1", 0), server_ctx, config.socket_path, settings.edge)
        edge_port = await self.edge.start()
        base_url = f"https://{config.hostname}:{edge_port}"

        users = {name: secrets.token_urlsafe(12) for name in USERS}
        app_env = self._app_env(base_url, users)
        public = {k: v for k, v in app_env.items() if k.startswith("NEXT_PUBLIC_")}
        env_file = self.workdir / "app.env"
        env_file.write_text("".join(f"{k}={v}\n" for k, v in public.items()))
        k8s_file = self.workdir / "web-configmap.yaml"
        k8s_file.write_text(self._configmap(public))
        self.app = Child(
            "reference app",
            [
                sys.executable,
                *("-m", "reference_app", "--host", "127.0.0.1", "--port", str(app_port)),
                *("--log-level", config.log_level),
            ],
            {**os.environ, **app_env},
            self.workdir / "app.log",
            freezable=True,
        )
        await self.app.start()

        network = NetworkOptions(resolve={config.hostname: "127.0.0.1"}, ca_file=ca_file)
        await self._wait_ready(self.app, f"http://127.0.0.1:{app_port}/api/health", network)
        timers = settings.timers
        self.proxy = NginxProxy(
            reference_app_dir() / "deploy" / "nginx.prod.conf",
            ("127.0.0.1", app_port),
            self.workdir,
            socket_path=config.socket_path,
            read_timeout_s=timers.nginx_read_timeout_s,
            ping_interval_s=timers.ping_interval_s,
            ping_timeout_s=timers.ping_timeout_s,
            edits=settings.nginx_edits,
        )
        nginx_port = await self.proxy.start()
        self.edge.upstream = ("127.0.0.1", nginx_port)
        await self._wait_ready(None, f"{base_url}/api/health", network)

        self.control = web.AppRunner(control_app(self), access_log=None)
        await self.control.setup()
        site = web.TCPSite(self.control, "127.0.0.1", 0)
        await site.start()
        control_port = self.control.addresses[0][1]

        assert self.zone.token is not None
        self.info = StackInfo(
            base_url=base_url,
            hostname=config.hostname,
            socket_path=config.socket_path,
            edge_port=edge_port,
            nginx_port=nginx_port,
            app_port=app_port,
            control_url=f"http://127.0.0.1:{control_port}",
            ca_file=str(ca_file),
            spki_sha256=spki_sha256(cert.cert_chain_pems[0].bytes()),
            users=users,
            timers=settings.timers,
            faults=config.faults,
            workdir=str(self.workdir),
            nginx_conf=str(self.proxy.site_conf),
            env_file=str(env_file),
            k8s_file=str(k8s_file),
            cf_api_url=f"http://127.0.0.1:{control_port}{ZONE_API_PREFIX}",
            cf_zone_id=self.zone.zone_id,
            cf_zone_name=self.zone.zone_name,
            cf_token=self.zone.token,
            pids={"supervisor": os.getpid(), "app": self.app.pid, "nginx": self.proxy.pid},
        )
        logger.info("stack ready in %.2f s at %s", time.monotonic() - started, base_url)
        return self.info

    def _app_env(self, base_url: str, users: dict[str, str]) -> dict[str, str]:
        timers, page = self.settings.timers, self.settings.page
        scheme = "ws://" if page.insecure_url else "wss://"
        return {
            "RA_DATABASE": str(self.workdir / "app.sqlite3"),
            "RA_SECRET_KEY": secrets.token_urlsafe(32),
            "RA_USERS": ",".join(f"{name}:{password}" for name, password in users.items()),
            "RA_PING_INTERVAL_S": f"{timers.ping_interval_s:g}",
            "RA_PING_TIMEOUT_S": f"{timers.ping_timeout_s:g}",
            "RA_HEARTBEAT_INTERVAL_MS": str(timers.heartbeat_interval_ms),
            "RA_MISSED_PONG_LIMIT": str(timers.missed_pong_limit),
            "RA_RECONNECT_DELAY_MS": str(timers.reconnect_delay_ms),
            "RA_RECONNECT_DELAY_MAX_MS": str(timers.reconnect_delay_max_ms),
            "RA_APP_VERSION": self.app_version,
            "RA_SOCKET_PATH": self.config.socket_path,
            "RA_FAULTS": ",".join(sorted(self.settings.app_faults)),
            "NEXT_PUBLIC_ENABLE_WEBSOCKETS": page.enable_websockets,
            "NEXT_PUBLIC_WEBSOCKET_URL": base_url.replace("https://", scheme, 1),
            "NEXT_PUBLIC_WEBSOCKET_PATH": page.websocket_path or self.config.socket_path.rstrip("/"),
        }

    def _configmap(self, public: dict[str, str]) -> str:
        """The same public settings as a Kubernetes ConfigMap: a second source the audit compares."""
        values = dict(public)
        if self.settings.page.configmap_url_without_port:
            # A ConfigMap nobody updated when the socket moved behind the edge's port.
            values["NEXT_PUBLIC_WEBSOCKET_URL"] = f"wss://{self.config.hostname}"
        data = "".join(f"  {k}: {json.dumps(v)}\n" for k, v in values.items())
        return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web-public-env\ndata:\n{data}"

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

    def pause_backend(
        self, seconds: float | None = None, *, start: float | None = None, until: float | None = None
    ) -> float | None:
        """Freeze the app (SIGSTOP) for `seconds` from now, or from the wall-clock time `start` until
        `until`, as a long GC pause or a starved CPU does: its pings come late. SIGCONT is scheduled at
        once, and sent again when the stack stops. Returns when the freeze begins (epoch s), None if
        that time had already passed (the caller timed it against a ping and must try again)."""
        assert self.app is not None
        assert self.app.process is not None
        now = time.time()
        begin = now if start is None else start
        end = until if until is not None else begin + (seconds or 0.0)
        if begin < now or end <= begin:
            return None
        pid = self.app.process.pid
        loop = asyncio.get_running_loop()
        loop.call_later(begin - now, self._signal_backend, pid, signal.SIGSTOP)
        loop.call_later(end - now, self._resume_backend, pid)
        return begin

    def _signal_backend(self, pid: int, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)

    def _resume_backend(self, pid: int) -> None:
        self._signal_backend(pid, signal.SIGCONT)

    async def restart_nginx(self) -> None:
        assert self.proxy is not None
        await self.proxy.restart()

    # Stop ----------------------------------------------------------------------------------------

    async def stop(self) -> None:
        """Stop everything that started, in order, and remove the temp folder."""
        if self.control is not None:
            await self.control.cleanup()
            self.control = None
        if self.edge is not None:
            await self.edge.stop()
        if self.proxy is not None:
            await self.proxy.stop()
        if self.app is not None:
            if self.app.process is not None:
                self._resume_backend(self.app.process.pid)  # a frozen process ignores SIGTERM
            await self.app.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)
        self._stopped.set()

    def request_stop(self) -> None:
        self._stopped.set()

    async def wait_stop_requested(self) -> None:
        await self._stopped.wait()


async def _watch_stdin(supervisor: Supervisor) -> None:
    """Our parent holds the other end of stdin: EOF means it is gone or wants us to stop."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    while await reader.read(1024):
        pass
    supervisor.request_stop()


async def run_until_stopped(
    config: StackConfig, announce: Callable[[StackInfo], None], *, watch_stdin: bool = False
) -> int:
    """Start the stack, announce it, and keep it up until SIGTERM/SIGINT/SIGHUP (or stdin's EOF)."""
    supervisor = Supervisor(config)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        loop.add_signal_handler(sig, supervisor.request_stop)
    try:
        info = await supervisor.start()
    except RealtimeVerifyError as error:
        print(f"realtime-verify: {error}", file=sys.stderr)
        return error.exit_code
    watcher = asyncio.create_task(_watch_stdin(supervisor)) if watch_stdin else None
    announce(info)
    try:
        await supervisor.wait_stop_requested()
    finally:
        if watcher is not None:
            watcher.cancel()
        await supervisor.stop()
    return 0


def main() -> int:
    die_with_parent()
    logging.basicConfig(level=logging.WARNING, format="supervisor %(levelname)s %(message)s")
    if len(sys.argv) != 2:
        print("usage: python -m realtime_verify.stack.supervisor '<StackConfig JSON>'", file=sys.stderr)
        return 2
    try:
        config = StackConfig.from_json(sys.argv[1])
    except RealtimeVerifyError as error:
        print(f"realtime-verify: {error}", file=sys.stderr)
        return error.exit_code
    return asyncio.run(
        run_until_stopped(config, lambda info: print(READY_PREFIX + info.to_json(), flush=True), watch_stdin=True)
    )


if __name__ == "__main__":
    sys.exit(main())
