"""The reconnect-storm check past one machine: a Locust master here, K workers here or anywhere.

    [faults]
    storm_runner = "locust"        # the storm check runs it through Locust instead of in-process watchers
    storm_clients = 20000
    storm_workers = 2              # Locust worker processes on this machine (0: all remote)
    storm_expect_workers = 10      # workers in all, remote ones included (default: storm_workers)
    storm_master_bind = "10.0.0.5" # where remote workers reach the master (default: loopback)
    storm_master_port = 5557       # default: a free port

On each load machine, with this package installed:

    python -m realtime_verify.faults.locust --install                       # once: Locust's own venv
    python -m realtime_verify.faults.locust --worker --master-host 10.0.0.5 --master-port 5557 [--processes 2]

Locust lives in a venv of its own (`RV_LOCUST_VENV`, default ~/.cache/realtime-verify/locust-venv),
never in the suite's locked dependencies: it brings gevent, which monkey-patches the process it runs
in. The suite talks to it through processes and one JSON file; the scenario is
`locust_scenario/locustfile.py` (it imports nothing from realtime-verify). Each Locust user is one
python-socketio client; the workers send every client's cut → back time to the master, which
writes the summary the storm check judges with the same judgement as its in-process storm.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

LOCUSTFILE = Path(__file__).resolve().parent / "locust_scenario" / "locustfile.py"
LOCUST_PACKAGES = ("locust==2.47.0", "python-socketio[client]==5.18.1", "py-spy==0.4.3")
STOP_TIMEOUT_S = 20
WORKERS_WAIT_S = 120  # how long the master waits for its workers to join


def default_venv() -> Path:
    """Where Locust's venv is: `RV_LOCUST_VENV`, else the user's cache folder."""
    configured = os.environ.get("RV_LOCUST_VENV")
    if configured:
        return Path(configured)
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "realtime-verify" / "locust-venv"


@dataclass(frozen=True)
class StormSummary:
    """What a Locust storm run found: every client's reconnect sample, and Locust's own figures."""

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
    samples_ms: list[float] = field(default_factory=list)  # every client's cut → back
    log: str = ""  # where the master's and workers' logs are
    error: str | None = None  # why the conductor stopped early (a failed order request, a failed cut)

    @property
    def passed(self) -> bool:
        return self.error is None and self.connected == self.users and self.back_within_budget == self.connected

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


def locust_missing(venv: Path | None = None) -> str | None:
    """Why Locust cannot run (with the command that installs it), None when it can."""
    venv = venv or default_venv()
    if not (venv / "bin" / "locust").exists():
        return (
            f"Locust is not installed in {venv}: run `python -m realtime_verify.faults.locust --install`"
            f" (a venv of its own with {' '.join(LOCUST_PACKAGES)})"
        )
    return None


def install(venv: Path | None = None) -> None:
    """A venv of its own for Locust (gevent patches the process it runs in; the suite's lock stays as it is)."""
    venv = venv or default_venv()
    if not (venv / "bin" / "python").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", *LOCUST_PACKAGES]
    subprocess.run(pip, check=True, timeout=900)


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def stop(process: subprocess.Popen[bytes]) -> None:
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
    headers: dict[str, str] | None = None,
    api_token: str = "",
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
    venv: Path | None = None,
) -> StormSummary:
    """Run the storm with one Locust master here and `workers` local worker processes (0: all remote).

    `expect_workers` (default: `workers`) counts remote ones too: start them with
    `python -m realtime_verify.faults.locust --worker --master-host <master_bind> --master-port <port>`.
    `rounds` broadcasts are timed first when `api_token` is given (the fan-out). Blocking: run it in a
    thread from async code. Raises StormError when the run gives no summary.
    """
    venv = venv or default_venv()
    missing = locust_missing(venv)
    if missing:
        raise StormError(missing)
    locust = str(venv / "bin" / "locust")
    folder = folder or Path(tempfile.mkdtemp(prefix="rv-storm-"))
    folder.mkdir(parents=True, exist_ok=True)
    summary_path = folder / "summary.json"
    port = master_port or _free_port(master_bind)
    expected = expect_workers if expect_workers is not None else workers
    common = [
        *("--rv-auth", json.dumps(auth), "--rv-headers", json.dumps(headers or {}), "--rv-cut", cut),
        *("--rv-api-token", api_token, "--rv-rounds", str(rounds if api_token else 0)),
        *("--rv-budget", str(budget_s), "--rv-socket-path", socket_path),
        *("--rv-control-url", control_url, "--rv-resolve", resolve, "--rv-ca-file", ca_file),
        *("--rv-timeout", str(timeout_s), "--rv-summary", str(summary_path)),
    ]
    master = [
        *(locust, "-f", str(LOCUSTFILE), "--headless", "--master", "--master-bind-host", master_bind),
        *("--master-bind-port", str(port), "--expect-workers", str(expected), "-u", str(users), "-r", str(rate)),
        # A worker that never joins ends the run with the master's own words, not a wait until timeout.
        *("--expect-workers-max-wait", str(int(min(timeout_s, WORKERS_WAIT_S)))),
        *("--host", target_url, "-t", f"{int(timeout_s + 60)}s", "--exit-code-on-error", "0", "--only-summary"),
        *common,
    ]
    print(
        f"locust master on {master_bind}:{port}, expecting {expected} worker(s); on a load machine:"
        f" python -m realtime_verify.faults.locust --worker --master-host {master_bind} --master-port {port}",
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
            argv = [locust, "-f", str(LOCUSTFILE), "--worker", "--master-host", master_bind]
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
                stop(worker)
    finally:
        for process in processes:
            stop(process)
        for log in logs:
            log.close()
    if not summary_path.exists():
        tail = (folder / "master.log").read_text(errors="replace")[-1500:]
        raise StormError(f"the Locust master wrote no summary; its log ends:\n{tail}")
    return StormSummary.from_file(summary_path, users, log=str(folder))


def run_workers(master_host: str, master_port: int, processes: int = 1, venv: Path | None = None) -> int:
    """Worker processes for a master elsewhere; they exit when it quits."""
    venv = venv or default_venv()
    argv = [str(venv / "bin" / "locust"), "-f", str(LOCUSTFILE), "--worker", "--master-host", master_host]
    argv += ["--master-port", str(master_port)]
    started = [subprocess.Popen(argv, start_new_session=True) for _ in range(processes)]
    try:
        return max(p.wait() for p in started)
    finally:
        for process in started:
            stop(process)


def main(argv: list[str] | None = None) -> int:
    """`python -m realtime_verify.faults.locust`: install Locust's venv, or be a worker for a master."""
    parser = argparse.ArgumentParser(prog="python -m realtime_verify.faults.locust", description=__doc__.split("\n")[0])
    parser.add_argument("--install", action="store_true", help=f"create Locust's venv ({default_venv()})")
    parser.add_argument("--worker", action="store_true", help="be a worker for a master elsewhere")
    parser.add_argument("--master-host", default="127.0.0.1", help="with --worker: the master's address")
    parser.add_argument("--master-port", type=int, default=None, help="with --worker: the port the master prints")
    parser.add_argument("--processes", type=int, default=1, help="with --worker: worker processes here")
    args = parser.parse_args(argv)
    if args.install and locust_missing():
        install()
    missing = locust_missing()
    if missing:
        print(f"realtime-verify: {missing}", file=sys.stderr)
        return 2
    if args.worker:
        if args.master_port is None:
            print("realtime-verify: --worker needs --master-port (the master prints it)", file=sys.stderr)
            return 2
        return run_workers(args.master_host, args.master_port, args.processes)
    if not args.install:
        parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
