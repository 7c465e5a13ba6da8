"""Run the suite K times against the healthy embedded stack, with the other core kept busy, and list
every failure with its check and message. Flaky is broken: a check that fails a healthy target once
in twenty runs is a defect of the check (fix what it waits on, not its threshold).

    python scripts/repeat_runs.py --runs 20 --max-minutes 60 [--no-busy] [-- extra run options]

Bounded in count and in time; the busy loop is one process, stopped by PID on every way out.
Writes reports/repeat.json (every run's verdict and failures) and exits 1 when any run failed.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BUSY = "import time\nend = time.monotonic() + {seconds}\nwhile time.monotonic() < end:\n    pass\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--max-minutes", type=float, default=60.0)
    parser.add_argument("--profile", default="signoff")
    parser.add_argument("--no-busy", action="store_true", help="do not keep the other core busy")
    parser.add_argument("--output", default="reports/repeat.json")
    args, extra = parser.parse_known_args()
    extra = [arg for arg in extra if arg != "--"]
    deadline = time.monotonic() + args.max_minutes * 60
    busy = None
    if not args.no_busy:
        # One core of two spinning for the whole series (bounded by the deadline even if we die).
        busy = subprocess.Popen([sys.executable, "-c", BUSY.format(seconds=args.max_minutes * 60)])
    runs: list[dict[str, object]] = []
    try:
        with tempfile.TemporaryDirectory(prefix="rv-repeat-") as folder:
            for index in range(1, args.runs + 1):
                if time.monotonic() > deadline:
                    print(f"stopped after {index - 1} runs: --max-minutes {args.max_minutes:g} reached", flush=True)
                    break
                output = Path(folder) / f"run-{index}"
                started = time.monotonic()
                command = [sys.executable, "-m", "realtime_verify.cli", "run", "--output", str(output)]
                done = subprocess.run(
                    [*command, "--profile", args.profile, "-q", *extra],
                    capture_output=True,
                    text=True,
                    timeout=max(60.0, deadline - time.monotonic()),
                    check=False,
                )
                summary_path = output / "summary.json"
                summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
                failures = [
                    {"check": c["check_id"], "status": c["status"], "message": c["message"][:300]}
                    for c in summary.get("checks", [])
                    if c["status"] in ("failed", "error", "not run")
                ]
                run = {
                    "run": index,
                    "exit": done.returncode,
                    "verdict": summary.get("verdict", "NO SUMMARY"),
                    "seconds": round(time.monotonic() - started, 1),
                    "failures": failures,
                }
                runs.append(run)
                print(f"run {index:>2}: {run['verdict']:<10} exit {done.returncode} in {run['seconds']} s", flush=True)
                for failure in failures:
                    print(f"        {failure['status']:<7} {failure['check']}: {failure['message']}", flush=True)
    finally:
        if busy is not None:
            busy.send_signal(signal.SIGTERM)
            busy.wait(10)
    failed = [run for run in runs if run["exit"] != 0]
    result = {
        "runs": len(runs),
        "failed_runs": len(failed),
        "busy_core": not args.no_busy,
        "profile": args.profile,
        "cpus": os.cpu_count(),
        "details": runs,
    }
    Path(args.output).parent.mkdir(parents=True, exist_ok=True)
    Path(args.output).write_text(json.dumps(result, indent=2) + "\n")
    print(f"{len(failed)} of {len(runs)} runs failed; {args.output}")
    return 1 if failed or not runs else 0


if __name__ == "__main__":
    sys.exit(main())
