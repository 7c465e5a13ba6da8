"""Past one machine: FT-005's reconnect storm (and a fan-out) as a distributed Locust run.

    .venv/bin/python bench/storm.py [--install] [--users 400] [--workers 2] [--rate 200] [--cut edge]
                                    [--output reports/bench/storm.json]
        # one master and --workers local workers on loopback, against the embedded stack it starts

    .venv/bin/python bench/storm.py --target-url https://staging.example.com --auth '{"token": "..."}' \
        --api-token T --users 20000 --workers 0 --master-bind 10.0.0.5 --expect-workers 10 --cut client
        # a team's target: this machine is the master; on each load machine:
    .venv/bin/python bench/storm.py --worker --master-host 10.0.0.5 --master-port P [--processes 2]

Locust is installed on demand (--install) into its own venv, bench/.tools/locust-venv (`locust==2.47.0`,
`python-socketio[client]`, and py-spy for bench/scale.py), never into the suite's locked dependencies:
it brings gevent, which monkey-patches the process it runs in, Flask and ~85 MB; the suite talks to
it through processes and a JSON file only. The runner and the scenario are the package's
(`realtime_verify.faults.locust`), the same FT-005 runs with `[faults] storm_runner = "locust"`.

The summary (clients, back within budget, reconnect p50/p95, connect and fan-out figures, the raw
reconnect samples) is printed and written as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any

from realtime_verify.faults import locust
from realtime_verify.faults.locust import StormSummary

BENCH = Path(__file__).resolve().parent
LOCUST_VENV = BENCH / ".tools" / "locust-venv"


def locust_missing() -> str | None:
    return locust.locust_missing(LOCUST_VENV)


def install() -> None:
    locust.install(LOCUST_VENV)


def run_locust_storm(target_url: str, **options: Any) -> StormSummary:
    """The package's Locust storm (what FT-005 runs with `faults.storm_runner = "locust"`), on bench's venv."""
    return locust.run_locust_storm(target_url, venv=LOCUST_VENV, **options)


async def _embedded(args: argparse.Namespace) -> tuple[StormSummary, dict[str, Any]]:
    """Start the embedded stack, log in, run the storm against it, stop the stack."""
    from _common import Meter, run_folder, stack_config, stack_groups
    from scale import login

    from realtime_verify.stack import EmbeddedStack

    async with EmbeddedStack(stack_config(args.timers)) as stack:
        info = stack.info
        carol, alice = await login(info, "carol"), await login(info, "alice")
        meter = Meter(stack_groups(info.pids))
        meter.mark("start")
        summary = await asyncio.to_thread(
            run_locust_storm,
            info.base_url,
            users=args.users,
            auth={"token": carol},
            api_token=alice,
            workers=args.workers,
            rate=args.rate,
            cut=args.cut,
            control_url=info.control_url,
            budget_s=args.budget,
            rounds=args.rounds,
            resolve=f"{info.hostname}=127.0.0.1",
            ca_file=info.ca_file,
            timeout_s=args.timeout,
            folder=run_folder("locust-"),
        )
        meter.mark("end")
        return summary, {"stack_cpu_and_rss": meter.delta("start", "end")}


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--install", action="store_true", help="create bench/.tools/locust-venv first")
    parser.add_argument("--users", type=int, default=400, help="clients in all (default: 400)")
    parser.add_argument("--workers", type=int, default=2, help="local worker processes (default: 2)")
    parser.add_argument("--expect-workers", type=int, default=None, help="workers in all, remote ones included")
    parser.add_argument("--rate", type=float, default=200.0, help="users started per second (default: 200)")
    parser.add_argument("--cut", choices=("edge", "client"), default=None, help="default: edge embedded, else client")
    parser.add_argument("--budget", type=float, default=10.0, help="FT-005's reconnect budget, s (default: 10)")
    parser.add_argument("--rounds", type=int, default=3, help="fan-out broadcasts (default: 3)")
    parser.add_argument("--timeout", type=float, default=300.0, help="the whole run, s (default: 300)")
    parser.add_argument(
        "--timers", choices=("production", "compressed"), default="production", help="the embedded stack's timers"
    )
    parser.add_argument("--target-url", default="", help="a team's target; default: the embedded stack")
    parser.add_argument("--auth", default="{}", help="socket auth payload for the clients (JSON)")
    parser.add_argument("--api-token", default="", help="Bearer token to create the fan-out orders")
    parser.add_argument("--master-bind", default="127.0.0.1", help="the master's address (default: loopback)")
    parser.add_argument("--master-port", type=int, default=None, help="default: a free port")
    parser.add_argument("--worker", action="store_true", help="be a worker for a master elsewhere")
    parser.add_argument("--master-host", default="127.0.0.1", help="with --worker: the master's address")
    parser.add_argument("--processes", type=int, default=1, help="with --worker: worker processes here")
    parser.add_argument("--output", type=Path, default=None)
    return parser.parse_args(argv)


def run_workers(args: argparse.Namespace) -> int:
    """`--worker`: worker processes for a master elsewhere; they exit when it quits."""
    if args.master_port is None:
        print("bench/storm.py --worker needs --master-port (the master prints it)", file=sys.stderr)
        return 2
    return locust.run_workers(args.master_host, args.master_port, args.processes, venv=LOCUST_VENV)


def main(argv: list[str]) -> int:
    args = parse(argv)
    if args.install and locust_missing():
        install()
    missing = locust_missing()
    if missing:
        print(f"bench/storm.py: {missing}", file=sys.stderr)
        return 3
    if args.worker:
        return run_workers(args)
    from _common import emit, loadavg, machine, run_folder

    info = machine()
    load = loadavg()
    started = time.monotonic()
    if args.target_url:
        summary = run_locust_storm(
            args.target_url,
            users=args.users,
            auth=json.loads(args.auth),
            api_token=args.api_token,
            workers=args.workers,
            expect_workers=args.expect_workers,
            master_bind=args.master_bind,
            master_port=args.master_port,
            rate=args.rate,
            cut=args.cut or "client",
            budget_s=args.budget,
            rounds=args.rounds,
            timeout_s=args.timeout,
            folder=run_folder("locust-"),
        )
        extra: dict[str, Any] = {}
    else:
        args.cut = args.cut or "edge"
        summary, extra = asyncio.run(_embedded(args))
    print(summary.line(), file=sys.stderr)
    emit(
        "storm",
        {
            "command": "bench/storm.py " + " ".join(argv),
            "machine": info,
            "loadavg_start": load,
            "loadavg_end": loadavg(),
            "elapsed_s": round(time.monotonic() - started, 1),
            "passed": summary.passed,
            "summary": asdict(summary),
            **extra,
        },
        args.output,
    )
    return 0 if summary.passed else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
