"""A peer, side by side: the scale workload (connect N, fan-out, storm) by our python-socketio watchers
and by Artillery's Socket.IO engine, one after the other in the same run, against the embedded stack.

    .venv/bin/python bench/peer.py [--install] [--clients 200,1000,2000] [--rate 200] [--rounds 5]
                                   [--output reports/bench/peer.json]

Artillery (npm `artillery@2.0.21`, the last release that runs on Node 20) is installed on demand with
--install into bench/.tools/artillery (git-ignored; PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1, 591 MB), never
into the repository's package.json. Without it the Artillery half is reported as not run, and why.

Artillery's half: the stack is started here; a generated script logs in once (`before.flow`), then
N virtual users arrive (--rate per second), each opening one Socket.IO connection (websocket only,
token in the scenario's `socketio.auth`, TLS without verification because Node cannot be told the
name mapping: the edge's certificate is for app.test, the URL is 127.0.0.1) and holding it. The
processor (bench/artillery/processor.js) timestamps each connect, reconnect and orders:update in
epoch ms into a file; this script drives the same fan-out (orders through the API) and storm
(`drop_all`) as bench/scale.py and reads the timestamps. CPU and RSS are those of the Artillery
process (its worker threads included), from /proc: per client = growth while the N connected, / N.
Telemetry is stubbed (bench/artillery/no-telemetry.js), as FIELD-NOTES says.

Our half is bench/scale.py's measurement for the same N (a child process, fresh stack).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _common import (
    BENCH,
    TIMERS,
    TOOLS,
    Meter,
    ProcessGroup,
    children,
    emit,
    loadavg,
    machine,
    note,
    run_folder,
    stack_config,
    stack_groups,
    stats,
)
from scale import login, run_child

from realtime_verify.stack import EmbeddedStack

ARTILLERY_VERSION = "2.0.21"
ARTILLERY_HOME = TOOLS / "artillery"
ARTILLERY_BIN = ARTILLERY_HOME / "node_modules" / ".bin" / "artillery"
HOLD_S = 900  # each virtual user's think time: the run is ended by us once measured
WAIT_S = 60.0
PAUSE_S = 8  # Artillery's first phase: nothing connects, so its idle RSS and CPU can be read


def artillery_missing() -> str | None:
    """Why Artillery cannot run here, or None."""
    if not ARTILLERY_BIN.exists():
        return (
            f"Artillery is not installed in {ARTILLERY_HOME} (run bench/peer.py --install: npm install"
            f" artillery@{ARTILLERY_VERSION}, ~600 MB, PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1)"
        )
    return None


def install() -> None:
    """npm install artillery@2.0.21 into bench/.tools/artillery (its own package.json, not the repo's)."""
    ARTILLERY_HOME.mkdir(parents=True, exist_ok=True)
    manifest = ARTILLERY_HOME / "package.json"
    if not manifest.exists():
        manifest.write_text('{"name": "rv-bench-artillery", "private": true}\n')
    env = {**os.environ, "PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD": "1"}
    argv = ["npm", "install", "--no-audit", "--no-fund", f"artillery@{ARTILLERY_VERSION}"]
    subprocess.run(argv, cwd=ARTILLERY_HOME, env=env, check=True, timeout=1200)


def script(base_url: str, password: str, n: int, rate: float) -> dict[str, Any]:
    port = base_url.rsplit(":", 1)[1]
    return {
        "config": {
            "target": f"https://127.0.0.1:{port}",
            "tls": {"rejectUnauthorized": False},
            "processor": str(BENCH / "artillery" / "processor.js"),
            "phases": [{"pause": PAUSE_S}, {"duration": max(1, math.ceil(n / rate)), "arrivalCount": n}],
            "socketio": {"transports": ["websocket"], "path": "/socket.io/"},
            "variables": {"password": password},
        },
        "before": {
            "flow": [
                {
                    "post": {
                        "url": "/api/login",
                        "json": {"username": "carol", "password": "{{ password }}"},
                        "capture": {"json": "$.token", "as": "token"},
                    }
                }
            ]
        },
        "scenarios": [
            {
                "engine": "socketio",
                "socketio": {"auth": {"token": "{{ token }}"}},
                "flow": [{"function": "arm"}, {"think": HOLD_S}],
            }
        ],
    }


def read_events(path: Path) -> list[list[str]]:
    if not path.exists():
        return []
    return [line.split() for line in path.read_text().splitlines() if line.strip()]


async def wait_lines(path: Path, kind: str, count: int, timeout_s: float, after: float = 0.0) -> list[list[str]]:
    deadline = time.monotonic() + timeout_s
    while True:
        lines = [e for e in read_events(path) if e[0] == kind and float(e[-1]) >= after]
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        await asyncio.sleep(0.2)  # polling a file another process appends to


def tree(pid: int) -> tuple[int, ...]:
    found, queue = [pid], [pid]
    while queue:
        for child in children(queue.pop()):
            found.append(child)
            queue.append(child)
    return tuple(found)


async def artillery_run(n: int, rate: float, rounds: int, timers: str) -> dict[str, Any]:
    folder = run_folder(f"artillery-{n}-")
    events = folder / "events.txt"
    async with EmbeddedStack(stack_config(timers)) as stack:
        info = stack.info
        token = await login(info, "alice")
        (folder / "script.yml").write_text(json.dumps(script(info.base_url, info.users["carol"], n, rate)))
        env = {
            **os.environ,
            "RV_BENCH_EVENTS": str(events),
            "RV_ARTILLERY_HOME": str(ARTILLERY_HOME),
            "ARTILLERY_DISABLE_TELEMETRY": "true",
            "NODE_OPTIONS": f"--require {BENCH / 'artillery' / 'no-telemetry.js'}",
        }
        log = (folder / "artillery.log").open("wb")
        process = await asyncio.create_subprocess_exec(
            str(ARTILLERY_BIN),
            "run",
            "--quiet",
            str(folder / "script.yml"),
            cwd=folder,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            loaded = await wait_lines(events, "p", 2, 60)  # the main thread and the worker load it
            if not loaded:
                raise RuntimeError(f"Artillery did not start within 60 s: see {folder / 'artillery.log'}")
            await asyncio.sleep(1.0)  # inside the pause phase: Node and the processor loaded, no socket yet
            meter = Meter([*stack_groups(info.pids), ProcessGroup("clients (artillery)", tree(process.pid))])
            meter.mark("idle")
            started = time.time() * 1000
            connects = await wait_lines(events, "c", n, math.ceil(n / rate) + WAIT_S)
            await asyncio.sleep(1.0)
            meter.mark("connected")
            connected = meter.delta("idle", "connected")
            per_connect = [float(e[2]) - float(e[1]) for e in connects]
            first = min((float(e[1]) for e in connects), default=started)
            last = max((float(e[2]) for e in connects), default=started)
            wall_s = (last - first) / 1000
            note(f"artillery N={n}: {len(connects)} connected in {wall_s:.1f} s")
            fan: list[float] = []
            all_reached: list[float] = []
            missing = 0
            headers = {"Authorization": f"Bearer {token}"}
            async with info.network.session() as http:
                for _ in range(rounds):
                    sent = int(time.time() * 1000)
                    title = f"bench fan-out {sent}"
                    async with http.post(f"{info.base_url}/api/orders", json={"title": title}, headers=headers) as r:
                        if r.status != 201:
                            raise RuntimeError(f"POST /api/orders: HTTP {r.status}")
                    await wait_lines(events, "f", len(connects), 30, after=sent)
                    got = [float(e[2]) - float(e[1]) for e in read_events(events) if e[0] == "f" and e[1] == str(sent)]
                    fan += got
                    missing += len(connects) - len(got)
                    if got:
                        all_reached.append(max(got))
                    await asyncio.sleep(0.2)
            note(f"artillery N={n}: fan-out {stats(fan)}")
            meter.mark("storm-start")
            accepted_before = (await stack.status())["edge"]["stats"]["accepted"]
            cut = time.time() * 1000
            dropped = await stack.drop_all("rst")
            back_lines = await wait_lines(events, "r", len(connects), 40, after=cut)
            meter.mark("storm-end")
            accepted = (await stack.status())["edge"]["stats"]["accepted"] - accepted_before
            back = [float(e[1]) - cut for e in back_lines]
            note(f"artillery N={n}: storm {stats(back)}")
            # Artillery's worker may have died meanwhile (a second callback in its socketio engine).
            crashed = process.returncode is not None or "worker error" in (folder / "artillery.log").read_text()
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 15)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                await process.wait()
            log.close()
    clients = connected["clients (artillery)"]
    log_text = (folder / "artillery.log").read_text(errors="replace")
    first_error = next((line for line in log_text.splitlines() if "error" in line.lower()), "")
    return {
        "artillery_crashed": crashed,
        "artillery_first_error": first_error[:300],
        "clients": n,
        "connected": len(connects),
        "connect": {
            "wall_s": round(wall_s, 2),
            "per_s": round(len(connects) / wall_s, 1) if wall_s else None,
            "per_connect_ms": stats(per_connect),
            "arrival_rate_per_s": rate,
            "cpu": connected,
        },
        "memory_kb_per_client": {
            name: round(v["rss_growth_kb"] / max(1, len(connects)), 1) for name, v in connected.items()
        },
        "cpu_ms_per_connect": {
            name: round(1000 * v["cpu_s"] / max(1, len(connects)), 2) for name, v in connected.items()
        },
        "client_rss_kb": clients["rss_kb"],
        "fanout": {
            "rounds": rounds,
            "latency_ms": stats(fan),
            "all_reached_ms": stats(all_reached),
            "missing": missing,
        },
        "storm": {
            "dropped": dropped,
            "back": len(back),
            "reconnect_ms": stats(back),
            "edge_accepted": accepted,
            "cpu": meter.delta("storm-start", "storm-end"),
        },
        "log": str(folder / "artillery.log"),
    }


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--install", action="store_true", help="npm install Artillery into bench/.tools first")
    parser.add_argument("--clients", default="200,1000,2000", help="comma-separated N (default: 200,1000,2000)")
    parser.add_argument("--rate", type=float, default=200.0, help="Artillery arrivals per second (default: 200)")
    parser.add_argument("--rounds", type=int, default=5, help="fan-out broadcasts per N (default: 5)")
    parser.add_argument("--batch", type=int, default=25, help="our connects gathered at once (default: 25)")
    parser.add_argument("--timers", choices=tuple(TIMERS), default="production", help="the stack's timers")
    parser.add_argument("--skip-ours", action="store_true", help="only the Artillery half")
    parser.add_argument("--output", type=Path, default=None)
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse(argv)
    if args.install and artillery_missing():
        install()
    info = machine()
    missing = artillery_missing()
    rows = []
    ours_args = argparse.Namespace(
        rounds=args.rounds, storm="rst", batch=args.batch, budget=10.0, profile_edge=0.0, timers=args.timers
    )
    for n in (int(x) for x in args.clients.split(",") if x.strip()):
        row: dict[str, Any] = {"clients": n, "loadavg_start": loadavg()}
        if not args.skip_ours:
            note(f"ours N={n}")
            row["ours"] = run_child(n, ours_args)
        if missing:
            row["artillery"] = {"not_run": missing}
        else:
            note(f"artillery N={n} (load {loadavg()})")
            try:
                row["artillery"] = asyncio.run(artillery_run(n, args.rate, args.rounds, args.timers))
            except (RuntimeError, OSError) as error:
                row["artillery"] = {"error": str(error)}
        row["loadavg_end"] = loadavg()
        rows.append(row)
    emit("peer", {"command": "bench/peer.py " + " ".join(argv), "machine": info, "results": rows}, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
