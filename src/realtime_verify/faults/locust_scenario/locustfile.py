"""The reconnect-storm check's storm and a broadcast fan-out as a Locust scenario, for one machine or many.

Runs inside Locust's own venv (`python -m realtime_verify.faults.locust --install`); it imports
nothing from realtime-verify (gevent monkey-patches the process it runs in). Each Locust user is one
python-socketio client (sync, under gevent, websocket only, the library's own reconnection: 1 s
doubling to 5 s, randomised by half, as the suite's storm watchers; each reconnect waits 10 s for the
server's CONNECT, not the library's 1 s: rv_storm_client.py says why). The master conducts, the workers measure:

1. users connect as Locust spawns them; each connect is a request ("socketio", "connect");
2. when every user is connected, the master creates --rv-rounds orders through the API; each user
   times the `orders:update` whose title carries the request's send time ("socketio", "fanout");
   across machines this needs synchronised clocks (NTP), as any one-way latency does;
3. the storm: with --rv-cut edge the master asks the embedded stack's edge to drop every connection
   (--rv-control-url); with --rv-cut client each worker cuts its own users' sockets (what the suite does
   against a target it must not touch). Each user's time from the cut to its next connect is a
   request ("socketio", "reconnect"), failed when later than --rv-budget or never;
4. the workers send their raw reconnect samples to the master, which writes --rv-summary (JSON) and
   ends the run.

    locust -f locustfile.py --headless --master --expect-workers K -u N -r RATE --host URL \
        --rv-auth '{"token": "..."}' --rv-api-token T --rv-summary out.json ...
    locust -f locustfile.py --worker --master-host ADDR ...   # on each load machine
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import time
from typing import Any

import gevent
import requests
from locust import User, constant, events, task
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner
from rv_storm_client import StormClient  # beside this file: Locust puts its folder on sys.path

USERS: list[StormUser] = []
SAMPLES: dict[str, Any] = {"reconnect_ms": [], "missing": 0, "workers": 0}
STATE: dict[str, Any] = {"cut_at": None, "summary_written": False}
REPORT_SLACK_S = 4.0  # workers report stats to the master every 3 s


@events.init_command_line_parser.add_listener
def _options(parser: Any) -> None:
    group = parser.add_argument_group("realtime-verify storm")
    group.add_argument("--rv-auth", default="{}", help="socket auth payload (JSON)")
    group.add_argument("--rv-headers", default="{}", help="headers of the socket handshake, a session cookie (JSON)")
    group.add_argument("--rv-api-token", default="", help="Bearer token for POST --rv-orders-path")
    group.add_argument("--rv-orders-path", default="/api/orders", help="creates an item; its broadcast is timed")
    group.add_argument("--rv-socket-path", default="/socket.io/")
    group.add_argument("--rv-rounds", type=int, default=3, help="fan-out broadcasts")
    group.add_argument("--rv-cut", choices=("edge", "client"), default="client")
    group.add_argument("--rv-control-url", default="", help="the embedded stack's control API (--rv-cut edge)")
    group.add_argument("--rv-budget", type=float, default=10.0, help="reconnect budget, seconds (the storm check's)")
    group.add_argument("--rv-resolve", default="", help="NAME=ADDRESS, like curl --resolve (embedded: app.test)")
    group.add_argument("--rv-ca-file", default="", help="CA to trust (the embedded stack's)")
    group.add_argument("--rv-summary", default="", help="where the master writes the JSON summary")
    group.add_argument("--rv-timeout", type=float, default=300.0, help="the conductor gives up after this")


def _map_names(mapping: str) -> None:
    """NAME=ADDRESS: resolve NAME to ADDRESS (TLS still checks NAME), as the suite's watchers do.

    Called by the first user: a worker learns the master's options with its first spawn message."""
    if not mapping or STATE.get("mapped"):
        return
    STATE["mapped"] = True
    name, _, address = mapping.partition("=")
    original = socket.getaddrinfo

    # websocket-client and requests (urllib3) both resolve through socket.getaddrinfo.
    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        return original(address if host == name else host, *args, **kwargs)

    socket.getaddrinfo = getaddrinfo  # type: ignore[assignment]


def _fire(env: Environment, name: str, ms: float, error: Exception | None = None) -> None:
    env.events.request.fire(
        request_type="socketio", name=name, response_time=ms, response_length=0, exception=error, context={}
    )


class StormUser(User):
    """One Socket.IO client that connects, listens and comes back after a cut."""

    wait_time = constant(1)

    def on_start(self) -> None:
        options = self.environment.parsed_options
        _map_names(options.rv_resolve)
        http = requests.Session()
        if options.rv_ca_file:
            http.verify = options.rv_ca_file
        self.connects: list[float] = []
        self.sio = StormClient(reconnection=True, handle_sigint=False, http_session=http)
        self.sio.on("connect", self._on_connect)
        self.sio.on("orders:update", self._on_update)
        USERS.append(self)
        started = time.perf_counter()
        try:
            self.sio.connect(
                self.host,
                auth=json.loads(options.rv_auth),
                headers=json.loads(options.rv_headers),
                transports=["websocket"],
                socketio_path=options.rv_socket_path.strip("/"),
                wait_timeout=30,
            )
        except Exception as error:  # noqa: BLE001 - every failure is a failed connect, reported to Locust
            _fire(self.environment, "connect", (time.perf_counter() - started) * 1000, error)
            return
        _fire(self.environment, "connect", (time.perf_counter() - started) * 1000)

    def _on_connect(self) -> None:
        self.connects.append(time.time() * 1000)

    def _on_update(self, data: Any) -> None:
        title = str(data.get("title", "")) if isinstance(data, dict) else ""
        if title.startswith("bench fan-out "):
            sent = float(title.rsplit(" ", 1)[1])
            _fire(self.environment, "fanout", time.time() * 1000 - sent)

    def cut(self) -> None:
        """End this client's socket abruptly (a transport error): it reconnects by itself."""
        ws = getattr(self.sio.eio, "ws", None)
        sock = getattr(ws, "sock", None)
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    @task
    def hold(self) -> None:
        """Nothing to do: the connection is the load (reads happen in the client's own greenlets)."""

    def on_stop(self) -> None:
        if self in USERS:
            USERS.remove(self)
        self.sio.disconnect()


# Workers ---------------------------------------------------------------------------------------


def _judge_local(env: Environment, cut_at: float) -> None:
    """After the cut: each local user's first connect after it, reported, then sent to the master."""
    budget_ms = env.parsed_options.rv_budget * 1000
    deadline = time.monotonic() + env.parsed_options.rv_budget * 3 + 5
    while time.monotonic() < deadline and not all(any(t > cut_at for t in u.connects) for u in USERS):
        gevent.sleep(0.1)
    samples, missing = [], 0
    for user in USERS:
        back = [t - cut_at for t in user.connects if t > cut_at]
        if not back:
            missing += 1
            _fire(env, "reconnect", budget_ms * 3, RuntimeError("not back"))
            continue
        samples.append(min(back))
        late = RuntimeError(f"back after {min(back):.0f} ms > budget") if min(back) > budget_ms else None
        _fire(env, "reconnect", min(back), late)
    payload = {"reconnect_ms": samples, "missing": missing}
    if isinstance(env.runner, WorkerRunner):
        env.runner.send_message("rv_samples", payload)
    else:
        _collect(env, payload)


def _on_storm(environment: Environment, msg: Any) -> None:
    env = environment
    data = msg.data if hasattr(msg, "data") else msg
    cut_at = data.get("cut_at")
    if data.get("mode") == "client":
        cut_at = time.time() * 1000
        for user in list(USERS):
            user.cut()
    gevent.spawn(_judge_local, env, cut_at)


# Master ----------------------------------------------------------------------------------------


def _collect(env: Environment, payload: dict[str, Any]) -> None:
    SAMPLES["reconnect_ms"] += payload["reconnect_ms"]
    SAMPLES["missing"] += payload["missing"]
    SAMPLES["workers"] += 1


def _on_samples(environment: Environment, msg: Any) -> None:
    _collect(environment, msg.data)


def _count(env: Environment, name: str) -> int:
    return int(env.stats.get(name, "socketio").num_requests)


def _post_order(env: Environment, title: str) -> None:
    options = env.parsed_options
    answer = requests.post(
        env.host.rstrip("/") + options.rv_orders_path,
        json={"title": title},
        headers={"Authorization": f"Bearer {options.rv_api_token}"},
        verify=options.rv_ca_file or True,
        timeout=10,
    )
    answer.raise_for_status()


def _conduct(env: Environment) -> None:
    """Wait for every user, run the fan-out rounds, cut, collect, write the summary, quit."""
    try:
        _conduct_steps(env)
    except Exception as error:  # noqa: BLE001 - any failure ends the run with the reason in the summary
        STATE["error"] = f"{type(error).__name__}: {error}"
        _write_summary(env, 0.0, 0)
    env.runner.quit()


def _conduct_steps(env: Environment) -> None:
    options = env.parsed_options
    _map_names(options.rv_resolve)
    users = int(options.num_users or 0)
    started = time.monotonic()
    deadline = started + options.rv_timeout
    while _count(env, "connect") < users and time.monotonic() < deadline:
        gevent.sleep(0.5)
    connected_after_s = time.monotonic() - started
    gevent.sleep(REPORT_SLACK_S)
    for _ in range(options.rv_rounds):
        _post_order(env, f"bench fan-out {time.time() * 1000:.0f}")
        gevent.sleep(1.0)
    gevent.sleep(REPORT_SLACK_S)
    expected = options.expect_workers if isinstance(env.runner, MasterRunner) else 1
    cut_at = time.time() * 1000
    if options.rv_cut == "edge":
        requests.post(
            options.rv_control_url.rstrip("/") + "/edge/drop", json={"mode": "rst"}, timeout=30
        ).raise_for_status()
    message = {"mode": options.rv_cut, "cut_at": cut_at}
    if isinstance(env.runner, MasterRunner):
        env.runner.send_message("rv_storm", message)
    else:
        _on_storm(environment=env, msg=message)
    while SAMPLES["workers"] < expected and time.monotonic() < deadline:
        gevent.sleep(0.5)
    gevent.sleep(REPORT_SLACK_S)
    _write_summary(env, connected_after_s, expected)


def _stats(env: Environment, name: str) -> dict[str, Any]:
    entry = env.stats.get(name, "socketio")
    if not entry.num_requests:
        return {"n": 0, "failures": entry.num_failures}
    return {
        "n": entry.num_requests,
        "failures": entry.num_failures,
        "p50": entry.get_response_time_percentile(0.5),
        "p95": entry.get_response_time_percentile(0.95),
        "max": round(entry.max_response_time, 1),
    }


def _exact(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"n": 0}

    def at(q: float) -> float:
        rank = (len(values) - 1) * q
        low = int(rank)
        high = min(low + 1, len(values) - 1)
        return round(values[low] + (values[high] - values[low]) * (rank - low), 1)

    return {"n": len(values), "p50": at(0.5), "p95": at(0.95), "max": round(values[-1], 1)}


def _write_summary(env: Environment, connected_after_s: float, workers: int) -> None:
    options = env.parsed_options
    reconnect = sorted(SAMPLES["reconnect_ms"])
    budget_ms = options.rv_budget * 1000
    summary = {
        "users": int(options.num_users or 0),
        "workers": workers,
        "workers_reported": SAMPLES["workers"],
        "connect_ms": _stats(env, "connect"),
        "connected_after_s": round(connected_after_s, 2),
        "fanout_ms": _stats(env, "fanout"),
        "reconnect_ms": _stats(env, "reconnect"),
        # Locust's histogram rounds above 100 ms (to 10 ms, then 100 ms): the exact figures from the samples.
        "reconnect_exact_ms": _exact(reconnect),
        "cut": options.rv_cut,
        "budget_s": options.rv_budget,
        "back": len(reconnect),
        "back_within_budget": sum(1 for v in reconnect if v <= budget_ms),
        "missing": SAMPLES["missing"],
        "samples_ms": [round(v, 1) for v in reconnect],
        "error": STATE.get("error"),
    }
    if options.rv_summary:
        with open(options.rv_summary, "w") as handle:
            json.dump(summary, handle, indent=1)
    STATE["summary_written"] = True


@events.init.add_listener
def _on_init(environment: Environment, **_: Any) -> None:
    runner = environment.runner
    if isinstance(runner, WorkerRunner):
        runner.register_message("rv_storm", _on_storm)
    elif isinstance(runner, MasterRunner):
        runner.register_message("rv_samples", _on_samples)


@events.test_start.add_listener
def _on_test_start(environment: Environment, **_: Any) -> None:
    if not isinstance(environment.runner, WorkerRunner):
        gevent.spawn(_conduct, environment)


if os.environ.get("RV_LOCUST_DEBUG"):
    print("realtime-verify storm locustfile loaded", flush=True)
