"""Scale on one machine: N watcher clients through the embedded stack (edge with TLS → nginx → app).

    .venv/bin/python bench/scale.py --clients 100,500,1000,2000 [--rounds 5] [--storm rst]
                                    [--batch 25] [--profile-edge 8] [--output reports/bench/scale.json]

For each N, in a fresh process with a fresh stack (so memory deltas start clean):

1. connect: N python-socketio watchers (websocket only, reconnection on, as FT-005 makes them), in
   gathers of --batch like FT-005; wall time, per-connect p50/p95, connects per second;
2. memory per client: RSS growth of the client process, of the app, of nginx (master + workers) and
   of the supervisor (the edge emulator runs inside it), divided by N;
3. fan-out: --rounds times, alice creates an order through the API (POST /api/orders, through the
   edge); the server broadcasts `orders:update`; latency = arrival at each watcher - the moment the
   request was sent (one clock: the clients and the requester share this process);
4. storm: the edge drops every connection (`stack.drop_all`, RST by default); each watcher's time
   from the cut to its next connect; p50/p95, how many came back within --budget, CPU of each part
   during the storm, the kernel's listen-queue overflow counters, and (with --profile-edge S) a
   py-spy profile of the supervisor during the storm, summarised as the hottest functions.

Prints one JSON document (the last stdout line) and writes reports/bench/scale.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import math
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from _common import (
    REPORTS,
    TIMERS,
    TOOLS,
    Meter,
    ProcessGroup,
    emit,
    loadavg,
    machine,
    note,
    stack_config,
    stack_groups,
    stats,
)

from realtime_verify import watcher as watcher_module
from realtime_verify.errors import ConnectFailed
from realtime_verify.stack import EmbeddedStack, StackInfo
from realtime_verify.watcher import Watcher

FANOUT_TIMEOUT_S = 30.0
CLOSE_BATCH = 200
PROFILE_RATE = 100  # py-spy samples per second


def netstat_counters() -> dict[str, int]:
    """The kernel's TCP counters that tell a full accept queue (machine-wide, so read as deltas)."""
    wanted = ("ListenOverflows", "ListenDrops", "TCPTimeouts", "TCPSynRetrans")
    lines = Path("/proc/net/netstat").read_text().splitlines()
    found: dict[str, int] = {}
    for header, values in zip(lines[::2], lines[1::2], strict=False):
        names, numbers = header.split()[1:], values.split()[1:]
        for name, number in zip(names, numbers, strict=False):
            if name in wanted:
                found[name] = int(number)
    return found


def py_spy() -> str | None:
    """py-spy from the bench tools venv (bench/locust.py installs it there) or from PATH."""
    local = TOOLS / "locust-venv" / "bin" / "py-spy"
    return str(local) if local.exists() else shutil.which("py-spy")


def summarise_profile(raw: Path, seconds: float, rate: int, top: int = 12) -> dict[str, Any]:
    """Collapsed stacks (py-spy --format raw, idle excluded) → how busy the process was and where.

    `busy_pct`: samples / (seconds x rate), the share of the window its threads were on a CPU or
    runnable (py-spy drops idle samples: a loop waiting in select() is not counted).
    """
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = []
        for frame in stack.split(";"):
            function, _, where = frame.partition(" (")
            if where:
                frames.append(f"{function} ({where.split(':')[0].rsplit('/', 1)[-1]})")
        if not frames:
            continue
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count

    def share(counter: Counter[str]) -> list[dict[str, Any]]:
        return [{"function": f, "pct": round(100 * n / total, 1)} for f, n in counter.most_common(top)]

    return {
        "samples": total,
        "busy_pct": round(100 * total / (seconds * rate), 1),
        "self": share(own) if total else [],
        "inclusive": share(inclusive) if total else [],
    }


async def login(info: StackInfo, user: str) -> str:
    async with (
        info.network.session() as http,
        http.post(f"{info.base_url}/api/login", json={"username": user, "password": info.users[user]}) as resp,
    ):
        data = await resp.json()
    return str(data["token"])


async def connect_all(watchers: list[Watcher], batch: int) -> tuple[list[float], list[str]]:
    """Connect in gathers of `batch` (as FT-005 does); per-connect durations (ms) and the failures."""
    durations: list[float] = []
    failures: list[str] = []

    async def one(watcher: Watcher) -> None:
        started = time.perf_counter()
        try:
            await watcher.connect(timeout_s=30)
        except ConnectFailed as error:
            failures.append(str(error))
            return
        durations.append((time.perf_counter() - started) * 1000)

    for start in range(0, len(watchers), batch):
        await asyncio.gather(*(one(w) for w in watchers[start : start + batch]))
    return durations, failures


async def close_all(watchers: list[Watcher]) -> None:
    for start in range(0, len(watchers), CLOSE_BATCH):
        await asyncio.gather(*(w.close() for w in watchers[start : start + CLOSE_BATCH]), return_exceptions=True)


async def fan_out(info: StackInfo, watchers: list[Watcher], token: str, rounds: int) -> dict[str, Any]:
    """Orders created through the API; how long until each watcher hears `orders:update`."""
    arrivals: dict[str, float] = {}
    everyone = asyncio.Event()
    wanted = {"title": ""}

    def handler_for(name: str) -> Any:
        async def on_update(data: Any) -> None:
            if isinstance(data, dict) and data.get("title") == wanted["title"] and name not in arrivals:
                arrivals[name] = time.time() * 1000
                if len(arrivals) == len(watchers):
                    everyone.set()

        return on_update

    for watcher in watchers:
        # A handler of its own for this event: the watcher's catch-all log is not on the measured path.
        watcher.client.on("orders:update", handler_for(watcher.name))
    latencies: list[float] = []
    last_arrival: list[float] = []
    missing = 0
    headers = {"Authorization": f"Bearer {token}"}
    async with info.network.session() as http:
        for number in range(rounds):
            arrivals.clear()
            everyone.clear()
            wanted["title"] = f"bench fan-out {number} {time.time()}"
            started = time.time() * 1000
            async with http.post(f"{info.base_url}/api/orders", json={"title": wanted["title"]}, headers=headers) as r:
                if r.status != 201:
                    raise RuntimeError(f"POST /api/orders: HTTP {r.status}: {await r.text()}")
            try:
                await asyncio.wait_for(everyone.wait(), FANOUT_TIMEOUT_S)
            except TimeoutError:
                missing += len(watchers) - len(arrivals)
            values = [t - started for t in arrivals.values()]
            latencies += values
            if values:
                last_arrival.append(max(values))
            await asyncio.sleep(0.2)  # let the loop settle between rounds (a pacing gap, not a sync)
    return {"rounds": rounds, "latency_ms": stats(latencies), "all_reached_ms": stats(last_arrival), "missing": missing}


async def storm(
    stack: EmbeddedStack, watchers: list[Watcher], mode: str, budget_s: float, profile_s: float
) -> dict[str, Any]:
    """Drop every connection at the edge; time each watcher's return."""
    before = [w.connects for w in watchers]
    edge_before = (await stack.status()).get("edge", {}).get("stats", {})
    counters_before = netstat_counters()
    spies: dict[str, tuple[asyncio.subprocess.Process, Path]] = {}
    tool = py_spy() if profile_s else None
    if tool:
        REPORTS.mkdir(parents=True, exist_ok=True)
        targets = {
            "supervisor+edge": stack.info.pids["supervisor"],
            "app": stack.info.pids["app"],
            "clients": os.getpid(),
        }
        for name, pid in targets.items():
            raw = REPORTS / f"storm-{len(watchers)}-{name.replace('+', '-')}.txt"
            argv = [
                tool,
                "record",
                "-p",
                str(pid),
                "-d",
                str(math.ceil(profile_s)),
                "-r",
                str(PROFILE_RATE),
                "-f",
                "raw",
                "-o",
                str(raw),
            ]
            log = (REPORTS / f"{raw.stem}.log").open("wb")
            spies[name] = (await asyncio.create_subprocess_exec(*argv, "--nonblocking", stdout=log, stderr=log), raw)
        await asyncio.sleep(1.0)  # py-spy attaches before the cut
    cut = time.time() * 1000
    dropped = await stack.drop_all(mode)
    deadline = time.monotonic() + budget_s * 6 + 10
    while time.monotonic() < deadline:
        if all(w.connects > n for w, n in zip(watchers, before, strict=True)):
            break
        await asyncio.sleep(0.1)  # polling many clients' counters: one Condition per watcher would cost more
    wall_s = (time.time() * 1000 - cut) / 1000
    back: list[float] = []
    for watcher in watchers:
        again = [e["t"] for e in watcher.timeline if e["what"] == "connect" and e["t"] > cut]
        if again:
            back.append(min(again) - cut)
    edge_after = (await stack.status()).get("edge", {}).get("stats", {})
    counters_after = netstat_counters()
    profiles = {}
    for name, (spy, raw) in spies.items():
        try:
            await asyncio.wait_for(spy.wait(), profile_s + 30)
        except TimeoutError:
            spy.kill()
            await spy.wait()
        if raw.exists():
            profiles[name] = {"raw": str(raw), **summarise_profile(raw, profile_s, PROFILE_RATE)}
    return {
        "mode": mode,
        "dropped": dropped,
        "back": len(back),
        "back_within_budget": sum(1 for t in back if t <= budget_s * 1000),
        "budget_s": budget_s,
        "reconnect_ms": stats(back),
        # The spread: when the first watcher was back, and how many were back by each second after the cut.
        "first_back_ms": round(min(back), 1) if back else None,
        "back_by_second": [
            sum(1 for t in back if t <= s * 1000) for s in range(1, math.ceil(max(back, default=0) / 1000) + 1)
        ],
        "all_back_s": round(max(back) / 1000, 2) if len(back) == len(watchers) else None,
        "waited_s": round(wall_s, 1),
        "edge_accepted": edge_after.get("accepted", 0) - edge_before.get("accepted", 0),
        "edge_accept_rate_per_s": round((edge_after.get("accepted", 0) - edge_before.get("accepted", 0)) / wall_s, 1),
        "kernel": {k: counters_after.get(k, 0) - counters_before.get(k, 0) for k in counters_after},
        "profiles": profiles,
    }


WHAT_IFS = {"backlog": "RV_WHATIF_EDGE_BACKLOG", "sslbuf": "RV_WHATIF_SSL_BUFFER_KB"}
CLIENT_WHAT_IFS = ("client_wait",)
# Since commit 9ab878f two of these are the code's own behaviour, not what-ifs:
# - the edge listens with backlog=4096 (stack/edge.py passes it, and bench/whatif's `backlog` only sets a
#   default), so `backlog=N` changes nothing;
# - the watchers' reconnects wait watcher.RECONNECT_WAIT_S (10 s) for CONNECT, so `client_wait=10` changes
#   nothing; another value still sets that wait (`client_wait=1` is the code before that commit).
NO_OPS = {
    "backlog": "the edge already listens with backlog=4096 (stack/edge.py); the what-if does not change it",
}


def what_if_notes(spec: str) -> list[str]:
    """What in `spec` measures the code as it is (said in the output, not refused: bench/all.py asks for them)."""
    notes = []
    for item in (item for item in spec.split(",") if item.strip()):
        key, _, value = (part.strip() for part in item.partition("="))
        if key in NO_OPS:
            notes.append(f"{key}={value}: a no-op: {NO_OPS[key]}")
        elif key == "client_wait" and float(value) == watcher_module.RECONNECT_WAIT_S:
            notes.append(f"client_wait={value}: a no-op: the watchers' reconnects already wait {value} s")
        elif key not in WHAT_IFS and key not in CLIENT_WHAT_IFS:
            raise SystemExit(f"bench/scale.py: --what-if {key}: unknown (known: backlog, sslbuf, client_wait)")
    return notes


def client_what_if(spec: str) -> None:
    """client_wait=S: a reconnecting watcher waits S s for the namespace CONNECT reply.

    python-socketio 5.x's AsyncClient._handle_reconnect calls connect() without wait_timeout; the
    watcher's client makes that default watcher.RECONNECT_WAIT_S (10 s; python-socketio's own is 1 s).
    This sets that default in this (bench) process only; the first connect passes its own timeout.
    """
    values = dict(item.partition("=")[::2] for item in spec.split(",") if item)
    if "client_wait" not in values:
        return
    connect = watcher_module._WatcherClient.connect
    connect.__kwdefaults__ = {**(connect.__kwdefaults__ or {}), "wait_timeout": float(values["client_wait"])}


@contextlib.contextmanager
def what_if(spec: str) -> Iterator[None]:
    """Only while the stack starts: bench/whatif on PYTHONPATH and its variables (see sitecustomize.py there)."""
    saved = dict(os.environ)
    edge = [item for item in spec.split(",") if item and item.partition("=")[0].strip() in WHAT_IFS]
    if edge:
        for item in edge:
            key, _, value = item.partition("=")
            os.environ[WHAT_IFS[key.strip()]] = value.strip()
        os.environ["PYTHONPATH"] = os.pathsep.join(
            p for p in (str(Path(__file__).parent / "whatif"), saved.get("PYTHONPATH", "")) if p
        )
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


async def run_one(
    n: int,
    rounds: int,
    mode: str,
    batch: int,
    budget_s: float,
    profile_s: float,
    whatif: str = "",
    timers: str = "production",
) -> dict[str, Any]:
    started = time.monotonic()
    client_what_if(whatif)
    stack = EmbeddedStack(stack_config(timers))
    with what_if(whatif):
        await stack.start()
    try:
        info = stack.info
        meter = Meter([*stack_groups(info.pids), ProcessGroup("clients", (os.getpid(),))])
        token_c, token_a = await login(info, "carol"), await login(info, "alice")
        gc.collect()
        meter.mark("idle")
        watchers = [
            Watcher(
                f"w{i}",
                info.base_url,
                info.socket_path,
                info.network,
                {"token": token_c},
                ["websocket"],
                reconnect=True,
            )
            for i in range(n)
        ]
        try:
            t0 = time.perf_counter()
            durations, failures = await connect_all(watchers, batch)
            connect_s = time.perf_counter() - t0
            await asyncio.sleep(1.0)  # let the last upgrades' buffers settle before reading RSS
            gc.collect()
            meter.mark("connected")
            connected = meter.delta("idle", "connected")
            memory = {name: round(v["rss_growth_kb"] / n, 1) for name, v in connected.items()}
            note(f"N={n}: connected in {connect_s:.1f} s ({len(failures)} failed); KB per client {memory}")
            live = [w for w in watchers if w.connected]
            meter.mark("fanout-start")
            fan = await fan_out(info, live, token_a, rounds)
            meter.mark("fanout-end")
            delivered = max(1, fan["latency_ms"].get("n", 0))
            fan["cpu_ms_per_delivery"] = {
                name: round(1000 * v["cpu_s"] / delivered, 3)
                for name, v in meter.delta("fanout-start", "fanout-end").items()
            }
            note(f"N={n}: fan-out {fan['latency_ms']}")
            meter.mark("storm-start")
            storm_result = await storm(stack, live, mode, budget_s, profile_s)
            meter.mark("storm-end")
            storm_result["cpu"] = meter.delta("storm-start", "storm-end")
            accepted = max(1, storm_result["edge_accepted"])
            storm_result["cpu_ms_per_accepted_connection"] = {
                name: round(1000 * v["cpu_s"] / accepted, 2) for name, v in storm_result["cpu"].items()
            }
            note(f"N={n}: storm {storm_result['reconnect_ms']} back {storm_result['back']}/{len(live)}")
            status = await stack.status()
        finally:
            await close_all(watchers)
    finally:
        await stack.stop()
    return {
        "clients": n,
        "what_if": whatif or None,
        "timers": timers,
        "connect": {
            "wall_s": round(connect_s, 2),
            "per_s": round(len(durations) / connect_s, 1),
            "per_connect_ms": stats(durations),
            "failed": len(failures),
            "cpu_ms_per_connect": {name: round(1000 * v["cpu_s"] / n, 2) for name, v in connected.items()},
            "first_failure": failures[0] if failures else None,
            "batch": batch,
            "cpu": connected,
        },
        "memory_kb_per_client": memory,
        "rss_kb_connected": {name: v["rss_kb"] for name, v in connected.items()},
        "fanout": fan,
        "storm": storm_result,
        "edge_status": status.get("edge"),
        "elapsed_s": round(time.monotonic() - started, 1),
        "loadavg_end": loadavg(),
    }


def run_child(n: int, args: argparse.Namespace) -> dict[str, Any]:
    """One N in its own process: a clean client heap and a fresh stack."""
    argv = [sys.executable, __file__, "--one", str(n), "--rounds", str(args.rounds), "--storm", args.storm]
    argv += ["--batch", str(args.batch), "--budget", str(args.budget), "--profile-edge", str(args.profile_edge)]
    argv += ["--what-if", getattr(args, "what_if", "") or "", "--timers", getattr(args, "timers", "production")]
    timeout = 120 + n * 0.5
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, check=False)
    except subprocess.TimeoutExpired as error:
        return {"clients": n, "error": f"did not finish within {timeout:.0f} s", "stderr": str(error.stderr)[-2000:]}
    sys.stderr.write(done.stderr)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if done.returncode != 0 or not lines:
        start = done.stderr.find("Traceback")
        return {"clients": n, "error": f"exit {done.returncode}", "stderr": done.stderr[max(start, 0) :][:4000]}
    result: dict[str, Any] = json.loads(lines[-1])
    return result


def where_it_stops(results: list[dict[str, Any]]) -> list[str]:
    """Plain-words reading of the series: what grew faster than N."""
    notes = []
    ok = [r for r in results if "error" not in r]
    for failed in (r for r in results if "error" in r):
        notes.append(f"N={failed['clients']}: {failed['error']}")
    if len(ok) >= 2:
        first, last = ok[0], ok[-1]
        grow = last["clients"] / first["clients"]
        for label, get in (
            ("connect wall time", lambda r: r["connect"]["wall_s"]),
            ("fan-out p95", lambda r: r["fanout"]["latency_ms"].get("p95", 0)),
            ("storm p95", lambda r: r["storm"]["reconnect_ms"].get("p95", 0)),
        ):
            a, b = get(first), get(last)
            if a:
                notes.append(f"{label}: x{b / a:.1f} for x{grow:.0f} clients ({a} → {b})")
    return notes


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", default="100,500,1000,2000", help="comma-separated N (default: 100,500,1000,2000)")
    parser.add_argument("--rounds", type=int, default=5, help="fan-out broadcasts per N (default: 5)")
    parser.add_argument("--storm", choices=("rst", "fin"), default="rst", help="how the edge drops (default: rst)")
    parser.add_argument("--batch", type=int, default=25, help="connects gathered at once, as FT-005 (default: 25)")
    parser.add_argument("--budget", type=float, default=10.0, help="reconnect budget in s (default: 10)")
    parser.add_argument(
        "--profile-edge", type=float, default=0.0, metavar="S", help="py-spy the supervisor for S s of the storm"
    )
    parser.add_argument(
        "--what-if",
        default="",
        metavar="sslbuf=K,client_wait=S",
        help="the edge's TLS read buffer (bench/whatif/sitecustomize.py), the watchers' reconnect CONNECT wait"
        " (client_wait=1: as before commit 9ab878f); backlog=N is accepted but now a no-op; src/ untouched",
    )
    parser.add_argument(
        "--timers",
        choices=tuple(TIMERS),
        default="production",
        help="the stack's timers (default: production, as FT-005 runs in nightly)",
    )
    parser.add_argument("--output", type=Path, default=None)
    parser.add_argument("--one", type=int, default=0, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse(argv)
    notes = what_if_notes(args.what_if)
    if args.one:
        result = asyncio.run(
            run_one(
                args.one, args.rounds, args.storm, args.batch, args.budget, args.profile_edge, args.what_if, args.timers
            )
        )
        print(json.dumps(result), flush=True)
        return 0
    for line in notes:
        note(line)
    info = machine()
    results = []
    for n in (int(x) for x in args.clients.split(",") if x.strip()):
        note(f"N={n}: starting (load {loadavg()})")
        load = loadavg()
        result = run_child(n, args)
        result["loadavg_start"] = load
        results.append(result)
    emit(
        "scale",
        {
            "command": "bench/scale.py " + " ".join(argv),
            "machine": info,
            "results": results,
            "reading": where_it_stops(results),
            "what_if_notes": notes,
        },
        args.output,
    )
    return 0 if all("error" not in r for r in results) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
