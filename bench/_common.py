"""What every benchmark shares: the machine it ran on, process memory and CPU from /proc, results as JSON.

Every benchmark in bench/ is one command that prints one JSON document on stdout (its last line) and
writes the same document to reports/bench/<name>.json. The document always carries `machine` (nproc,
RAM, versions, the load average when it started and ended) so a figure is never quoted without the
machine that produced it.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from realtime_verify.metrics import percentile
from realtime_verify.stack import StackConfig, Timers

# FT-005 runs in the nightly profile, with the target's real timers: the load benchmarks do the same
# by default. With the compressed timers (ping 3 s + 3 s) one Python process holding 2000 clients
# answers ~670 pings a second, and any pause of its loop longer than 3 s becomes a ping timeout.
TIMERS = {"production": Timers.production, "compressed": Timers.compressed}


def stack_config(timers: str = "production") -> StackConfig:
    return StackConfig(timers=TIMERS[timers]())


REPO = Path(__file__).resolve().parents[1]
BENCH = REPO / "bench"
TOOLS = BENCH / ".tools"  # on-demand installs (git-ignored): Artillery, the Locust venv, py-spy
REPORTS = REPO / "reports" / "bench"
RUNS = REPORTS / "runs"  # what a benchmark's runs leave (reports, logs, timestamps), kept beside its JSON


def run_folder(prefix: str) -> Path:
    """A new folder under reports/bench/runs (git-ignored, like all of reports/)."""
    import tempfile

    RUNS.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=RUNS))


CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def loadavg() -> list[float]:
    """The 1, 5 and 15 minute load averages (the other engineers' runs share these 2 cores)."""
    return [round(x, 2) for x in os.getloadavg()]


def _version(argv: Sequence[str]) -> str:
    if shutil.which(argv[0]) is None and not Path(argv[0]).exists():
        return ""
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return ""
    lines = [
        line for line in (out.stdout + out.stderr).splitlines() if line.strip() and "unexpected operator" not in line
    ]
    return lines[0].strip() if lines else ""


def machine() -> dict[str, Any]:
    """nproc, RAM, kernel, the versions that matter, and the load average now."""
    from importlib.metadata import PackageNotFoundError, version

    packages = {}
    for name in ("python-socketio", "python-engineio", "aiohttp", "playwright", "uvicorn", "h11"):
        try:
            packages[name] = version(name)
        except PackageNotFoundError:
            packages[name] = ""
    mem_kb = 0
    with open("/proc/meminfo") as meminfo:
        for line in meminfo:
            if line.startswith("MemTotal:"):
                mem_kb = int(line.split()[1])
    return {
        "nproc": os.cpu_count(),
        "ram_gib": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "node": _version(["node", "--version"]),
        "nginx": _version(["nginx", "-v"]).removeprefix("nginx version: "),
        "chromium": _version(["/usr/bin/chromium", "--version"]),
        "ulimit_nofile": _nofile(),
        "packages": packages,
        "loadavg": loadavg(),
    }


def _nofile() -> int:
    import resource

    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# Processes -------------------------------------------------------------------------------------


def rss_kb(pid: int) -> int:
    """Resident set size of one process (0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/statm") as statm:
            return int(statm.read().split()[1]) * PAGE_KB
    except (OSError, IndexError, ValueError):
        return 0


def cpu_s(pid: int) -> float:
    """User + system CPU seconds one process has used so far."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def children(pid: int) -> list[int]:
    """Direct children of `pid` (nginx's workers under its master)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(entry.name))
    return found


@dataclass(frozen=True)
class ProcessGroup:
    """A named set of PIDs measured together (nginx = master + workers)."""

    name: str
    pids: tuple[int, ...]

    def rss_kb(self) -> int:
        return sum(rss_kb(pid) for pid in self.pids)

    def cpu_s(self) -> float:
        return sum(cpu_s(pid) for pid in self.pids)


def stack_groups(pids: dict[str, int]) -> list[ProcessGroup]:
    """The embedded stack's processes: the app, nginx (master and workers), the supervisor (edge inside)."""
    return [
        ProcessGroup("app", (pids["app"],)),
        ProcessGroup("nginx", (pids["nginx"], *children(pids["nginx"]))),
        ProcessGroup("supervisor+edge", (pids["supervisor"],)),
    ]


class Meter:
    """RSS and CPU of process groups, sampled at named points; deltas between two points."""

    def __init__(self, groups: Iterable[ProcessGroup]) -> None:
        self.groups = list(groups)
        self.points: dict[str, dict[str, dict[str, float]]] = {}

    def mark(self, point: str) -> dict[str, dict[str, float]]:
        now = time.monotonic()
        self.points[point] = {
            g.name: {"rss_kb": g.rss_kb(), "cpu_s": round(g.cpu_s(), 3), "t": now} for g in self.groups
        }
        return self.points[point]

    def delta(self, start: str, end: str) -> dict[str, dict[str, float]]:
        """Per group: RSS growth (KB), CPU seconds used and the share of one core between the points."""
        out = {}
        for name, first in self.points[start].items():
            last = self.points[end][name]
            wall = max(last["t"] - first["t"], 1e-9)
            cpu = last["cpu_s"] - first["cpu_s"]
            out[name] = {
                "rss_growth_kb": last["rss_kb"] - first["rss_kb"],
                "rss_kb": last["rss_kb"],
                "cpu_s": round(cpu, 3),
                "cpu_pct_of_core": round(100 * cpu / wall, 1),
            }
        return out


# Figures ---------------------------------------------------------------------------------------


def stats(values: Sequence[float]) -> dict[str, Any]:
    """n, p50, p95, max (rounded ms, or whatever unit the values are in)."""
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "p50": round(percentile(list(values), 50), 2),
        "p95": round(percentile(list(values), 95), 2),
        "max": round(max(values), 2),
    }


def ratio(a: float | None, b: float | None) -> float | None:
    return round(a / b, 2) if a is not None and b else None


def emit(name: str, result: dict[str, Any], output: Path | None = None) -> Path:
    """Write the result to reports/bench/<name>.json (or `output`) and print it as the last stdout line."""
    path = output or REPORTS / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {"bench": name, "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **result}
    path.write_text(json.dumps(document, indent=2) + "\n")
    print(json.dumps(document), flush=True)
    print(f"# written to {path}", file=sys.stderr)
    return path


def note(message: str) -> None:
    """Progress for the person watching, on stderr (stdout is the machine-readable result)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)
