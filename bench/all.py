"""Every benchmark, in one go, for bench/RESULTS.md: first wait (bounded) for a quiet machine.

    .venv/bin/python bench/all.py [--install] [--quick] [--max-wait 900] [--skip-peers] [--only NAMES]

The 2 cores are shared: this waits, checking `uptime` every 30 s for at most --max-wait seconds,
until the 1-minute load average is below 1.0, then runs the commands below one after the other.
Each writes reports/bench/<name>.json; this writes reports/bench/all.json: each command, its exit
code, its duration and the load average before and after it. Then `bench/render.py` turns the JSON
into the tables of bench/RESULTS.md. --quick runs every command at a small size (a dry run).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _common import REPO, REPORTS, emit, loadavg, machine, note

PY = str(REPO / ".venv" / "bin" / "python")
QUIET_LOAD = 1.0
CHECK_EVERY_S = 30


def commands(quick: bool, peers: bool) -> list[tuple[str, list[str]]]:
    if quick:
        runs = [
            ("verdict", ["bench/verdict.py", "--profiles", "smoke"]),
            ("fidelity", ["bench/fidelity.py", "--messages", "10", "--cycles", "1"]),
            ("scale", ["bench/scale.py", "--clients", "50,100", "--rounds", "2"]),
        ]
        if peers:
            runs += [
                ("peer", ["bench/peer.py", "--clients", "50", "--rounds", "2"]),
                ("storm-locust", ["bench/storm.py", "--users", "50", "--workers", "2", "--rounds", "2"]),
            ]
        return runs
    runs = [
        ("verdict", ["bench/verdict.py", "--profiles", "smoke,signoff"]),
        ("fidelity", ["bench/fidelity.py", "--messages", "60", "--cycles", "3"]),
        ("scale", ["bench/scale.py", "--clients", "100,500,1000,2000", "--rounds", "3"]),
        ("scale-profile", ["bench/scale.py", "--clients", "2000", "--rounds", "3", "--profile-edge", "10"]),
        # The old 1 s reconnect wait put back, and the edge's TLS read buffer shrunk (the backlog of 4096
        # and the 10 s wait are the code's own now).
        ("scale-whatif-client-wait", ["bench/scale.py", "--clients", "1000,2000", "--what-if", "client_wait=1"]),
        ("scale-whatif-edge", ["bench/scale.py", "--clients", "2000", "--what-if", "sslbuf=16"]),
    ]
    if peers:
        runs += [
            ("peer", ["bench/peer.py", "--clients", "200,1000,2000", "--rounds", "3"]),
            ("storm-locust", ["bench/storm.py", "--users", "400", "--workers", "2", "--rounds", "3"]),
            ("storm-locust-2000", ["bench/storm.py", "--users", "2000", "--workers", "2", "--rounds", "3"]),
        ]
    return runs


def wait_quiet(max_wait_s: float) -> list[dict[str, Any]]:
    """Bounded: check `uptime` every 30 s until the 1-minute load is below 1.0 or the time is up."""
    seen = []
    deadline = time.monotonic() + max_wait_s
    while True:
        line = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
        load = loadavg()
        seen.append({"t": time.strftime("%H:%M:%S"), "uptime": line, "load1": load[0]})
        note(f"waiting for a quiet machine: {line}")
        if load[0] < QUIET_LOAD or time.monotonic() + CHECK_EVERY_S > deadline:
            return seen
        time.sleep(CHECK_EVERY_S)  # a bounded poll of the load average: there is no event to wait on


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="every command at a small size")
    parser.add_argument("--max-wait", type=float, default=900.0, help="seconds to wait for load < 1.0 (default 900)")
    parser.add_argument("--skip-peers", action="store_true", help="no Artillery, no Locust")
    parser.add_argument("--install", action="store_true", help="install Artillery and Locust first (bench/.tools)")
    parser.add_argument("--only", default="", help="comma-separated names of the runs to make (default: all)")
    args = parser.parse_args(argv)
    if args.install and not args.skip_peers:
        import peer
        import storm

        if peer.artillery_missing():
            peer.install()
        if storm.locust_missing():
            storm.install()
    waited = wait_quiet(args.max_wait)
    info = machine()
    done = []
    only = {name.strip() for name in args.only.split(",") if name.strip()}
    for name, argv_ in commands(args.quick, not args.skip_peers):
        if only and name not in only:
            continue
        output = REPORTS / f"{name}.json"
        before = loadavg()
        started = time.monotonic()
        note(f"{name}: {' '.join(argv_)} (load {before})")
        code = subprocess.run([PY, *argv_, "--output", str(output)], cwd=REPO, check=False).returncode
        done.append(
            {
                "name": name,
                "command": " ".join(argv_),
                "exit": code,
                "seconds": round(time.monotonic() - started, 1),
                "loadavg_before": before,
                "loadavg_after": loadavg(),
                "output": str(Path(output).relative_to(REPO)),
            }
        )
    name = "all" if not only else "all-" + "-".join(sorted(only))[:60]
    emit(name, {"command": "bench/all.py " + " ".join(argv), "machine": info, "waited": waited, "runs": done})
    return 0 if all(run["exit"] == 0 for run in done) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
