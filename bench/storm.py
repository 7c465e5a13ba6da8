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
it through processes and a JSON file only. The scenario is bench/locustfiles/locustfile.py.

The summary (clients, back within budget, reconnect p50/p95, connect and fan-out figures, the raw
reconnect samples) is printed and written as JSON; `run_locust_storm()` is the same as a function,
for FT-005 to call (see its docstring).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
LOCUST_VENV = BENCH / ".tools" / "locust-venv"
LOCUST = LOCUST_VENV / "bin" / "locust"
LOCUSTFILE = BENCH / "locustfiles" / "locustfile.py"
LOCUST_PACKAGES = ("locust==2.47.0", "python-socketio[client]==5.18.1", "py-spy==0.4.3")
STOP_TIMEOUT_S = 20


@dataclass(frozen=True)
class StormSummary:
    """What a Locust storm run found, as FT-005 judges it."""

    users: int  # clients asked for
    connected: int  # clients that connected
    back: int  # clients that reconnected after the cut
    back_within_budget: int
    budget_s: float
    reconnect_ms: dict[str, Any]  # n, p50, p95, max: exact, from every client's sample
    connect_ms: dict[str, Any]
    fanout_ms: dict[str, Any]
    workers: int
    cut: str  # "edge" (the embedded stack's edge dropped everything) or "client" (each worker cut its own)
    samples_ms: list[float] = field(default_factory=list)  # every client's cut → back, for judge_storm
    log: str = ""  # where the master's and workers' logs are
    error: str | None = None  # why the conductor stopped early (a failed order request, a failed cut)

    @property
    def passed(self) -> bool:
        return self.error is None and self.connected == self.users and self.back_within_budget == self.connected

    def metrics(self) -> dict[str, Any]:
        """The metrics FT-005's judge_storm reports, in its words, from every client's sample."""
        values = sorted(self.samples_ms)

        def at(q: float) -> float:
            rank = (len(values) - 1) * q
            low = int(rank)
            high = min(low + 1, len(values) - 1)
            return round(values[low] + (values[high] - values[low]) * (rank - low), 1)

        found: dict[str, Any] = {
            "clients": self.connected,
            "back": self.back,
            "fault": f"{self.cut} cut over {self.workers} Locust worker(s)",
        }
        if values:
            found.update(
                {
                    "p50 ms": at(0.5),
                    "p95 ms": at(0.95),
                    "max ms": values[-1],
                    "spread p5-p95 ms": round(at(0.95) - at(0.05), 1),
                }
            )
        return found

    def line(self) -> str:
        p95 = self.reconnect_ms.get("p95")
        return (
            f"storm over {self.workers} Locust worker(s): {self.back_within_budget}/{self.connected} clients"
            f" back within {self.budget_s:g} s (p95 {p95} ms); {self.connected}/{self.users} connected"
        )

    @classmethod
    def from_file(cls, path: Path, users: int, log: str = "") -> StormSummary:
        data = json.loads(path.read_text())
        return cls(
            users=users,
            connected=int(data["connect_ms"].get("n", 0)) - int(data["connect_ms"].get("failures", 0)),
            back=int(data["back"]),
            back_within_budget=int(data["back_within_budget"]),
            budget_s=float(data["budget_s"]),
            reconnect_ms=data.get("reconnect_exact_ms") or data["reconnect_ms"],
            connect_ms=data["connect_ms"],
            fanout_ms=data["fanout_ms"],
            workers=int(data["workers"]),
            cut=str(data["cut"]),
            samples_ms=list(data.get("samples_ms", [])),
            log=log,
            error=data.get("error"),
        )


class StormError(RuntimeError):
    """The Locust run could not be made (not installed, a worker never joined, no summary)."""


def locust_missing() -> str | None:
    if not LOCUST.exists():
        return f"Locust is not installed in {LOCUST_VENV} (run bench/storm.py --install: {' '.join(LOCUST_PACKAGES)})"
    return None


def install() -> None:
    """A venv of its own for Locust (gevent patches the process it runs in; the suite's lock stays as it is)."""
    if not (LOCUST_VENV / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(LOCUST_VENV)], check=True, timeout=300)
    pip = [str(LOCUST_VENV / "bin" / "python"), "-m", "pip", "install", "--quiet", *LOCUST_PACKAGES]
    subprocess.run(pip, check=True, timeout=900)


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the process group we started, then SIGKILL; never by name."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    except ProcessLookupError:
        pass


def run_locust_storm(
    target_url: str,
    *,
    users: int,
    auth: dict[str, Any],
    api_token: str,
    workers: int = 2,
    expect_workers: int | None = None,
    master_bind: str = "127.0.0.1",
    master_port: int | None = None,
    rate: float = 200.0,
    cut: str = "client",
    control_url: str = "",
    budget_s: float = 10.0,
    rounds: int = 3,
    resolve: str = "",
    ca_file: str = "",
    socket_path: str = "/socket.io/",
    timeout_s: float = 600.0,
    folder: Path | None = None,
) -> StormSummary:
    """Run the storm with one Locust master here and `workers` local worker processes (0: all remote).

    `expect_workers` (default: `workers`) counts remote ones too: start them with
    `bench/storm.py --worker --master-host <master_bind> --master-port <port>` on the load machines.
    Blocking (run it in a thread from async code). Raises StormError when the run gives no summary.
    """
    missing = locust_missing()
    if missing:
        raise StormError(missing)
    folder = folder or Path(tempfile.mkdtemp(prefix="rv-storm-"))
    summary_path = folder / "summary.json"
    port = master_port or _free_port(master_bind)
    expected = expect_workers if expect_workers is not None else workers
    common = [
        *("--rv-auth", json.dumps(auth), "--rv-api-token", api_token, "--rv-cut", cut),
        *("--rv-budget", str(budget_s), "--rv-rounds", str(rounds), "--rv-socket-path", socket_path),
        *("--rv-control-url", control_url, "--rv-resolve", resolve, "--rv-ca-file", ca_file),
        *("--rv-timeout", str(timeout_s), "--rv-summary", str(summary_path)),
    ]
    master = [
        *(str(LOCUST), "-f", str(LOCUSTFILE), "--headless", "--master", "--master-bind-host", master_bind),
        *("--master-bind-port", str(port), "--expect-workers", str(expected), "-u", str(users), "-r", str(rate)),
        *("--host", target_url, "-t", f"{int(timeout_s + 60)}s", "--exit-code-on-error", "0", "--only-summary"),
        *common,
    ]
    print(
        f"locust master on {master_bind}:{port}, expecting {expected} worker(s); on a load machine:"
        f" bench/storm.py --worker --master-host {master_bind} --master-port {port}",
        file=sys.stderr,
        flush=True,
    )
    logs = []
    processes: list[subprocess.Popen[bytes]] = []
    try:
        log = (folder / "master.log").open("wb")
        logs.append(log)
        processes.append(subprocess.Popen(master, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        for number in range(workers):
            log = (folder / f"worker-{number}.log").open("wb")
            logs.append(log)
            argv = [str(LOCUST), "-f", str(LOCUSTFILE), "--worker", "--master-host", master_bind]
            argv += ["--master-port", str(port), *common]
            processes.append(subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, start_new_session=True))
        try:
            processes[0].wait(timeout=timeout_s + 90)
        except subprocess.TimeoutExpired:
            raise StormError(
                f"the Locust master did not finish within {timeout_s + 90:.0f} s; logs in {folder}"
            ) from None
        for worker in processes[1:]:
            try:
                worker.wait(timeout=STOP_TIMEOUT_S)  # workers quit when the master does
            except subprocess.TimeoutExpired:
                _stop(worker)
    finally:
        for process in processes:
            _stop(process)
        for log in logs:
            log.close()
    if not summary_path.exists():
        tail = (folder / "master.log").read_text(errors="replace")[-1500:]
        raise StormError(f"the Locust master wrote no summary; its log ends:\n{tail}")
    return StormSummary.from_file(summary_path, users, log=str(folder))


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
    argv = [str(LOCUST), "-f", str(LOCUSTFILE), "--worker", "--master-host", args.master_host]
    argv += ["--master-port", str(args.master_port)]
    processes = [subprocess.Popen(argv, start_new_session=True) for _ in range(args.processes)]
    try:
        return max(p.wait() for p in processes)
    finally:
        for process in processes:
            _stop(process)


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
