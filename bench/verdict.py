"""Time to verdict: wall time of `realtime-verify run` (smoke, signoff) against the embedded stack,
broken down, next to a floor computed from the same run's parts.

    .venv/bin/python bench/verdict.py [--profiles smoke,signoff] [--check ID ...] [--output reports/bench/verdict.json]

Each profile runs once as the user runs it (`realtime-verify run --profile P --output DIR`), with one
extra pytest plugin (bench/verdict_timing.py, `-p verdict_timing`) that records the run's own
timestamps: fixture setups, each check's phases, each page's open and connect. Nothing in src/ changes.

Breakdown (seconds): process start → pytest configured (interpreter, imports, plugin), stack start
(rv_target: the supervisor, app, nginx, edge, preflight), logins (rv_adapter), browser launch
(rv_browser: Playwright + Chromium), page opens (context + goto + login + socket connected, summed
over every page the checks opened), each check (setup + call + teardown), then stop and exit.

Floor = stack start + browser launch + one page connect (the median page's goto → connected; two
pages can open in parallel) + the waits the checks cannot avoid, read from summary.json: every chat
and item delivery the checks wait for (the sum of their "→ rendered" samples), every recovery a fault
check waits for (cut → last client back, from its timelines), and the observation windows a check
needs by definition (RT-005: the heartbeats it counts). Ratio = wall / floor (target: smoke ≤ 3x).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _common import BENCH, REPO, emit, loadavg, machine, note, ratio, run_folder

RUN_TIMEOUT_S = 900


def run_profile(profile: str, checks: list[str]) -> dict[str, Any]:
    """One `realtime-verify run`, timed from outside and from inside."""
    folder = run_folder(f"verdict-{profile}-")
    timing = folder / "timing.json"
    argv = [str(REPO / ".venv" / "bin" / "realtime-verify"), "run", "--profile", profile, "--output", str(folder)]
    for check in checks:
        argv += ["--check", check]
    argv += ["-p", "verdict_timing"]
    env = {**os.environ, "RV_BENCH_TIMING": str(timing)}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(BENCH), env.get("PYTHONPATH", "")) if p)
    load = loadavg()
    started = time.time()
    done = subprocess.run(argv, cwd=REPO, env=env, capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=False)
    ended = time.time()
    summary_path = folder / "summary.json"
    if not summary_path.exists() or not timing.exists():
        raise RuntimeError(
            f"run --profile {profile} wrote no summary/timing (exit {done.returncode}): {done.stdout[-2000:]}"
        )
    summary = json.loads(summary_path.read_text())
    marks = json.loads(timing.read_text())
    result = breakdown(profile, started, ended, marks, summary)
    result.update(
        {
            "command": " ".join(argv[1:-2]),
            "exit": done.returncode,
            "verdict": summary.get("verdict"),
            "counts": summary.get("counts"),
            "loadavg_start": load,
            "loadavg_end": loadavg(),
            "reports": str(folder),
        }
    )
    return result


def _span(pair: list[float] | None) -> float:
    return round(pair[1] - pair[0], 3) if pair else 0.0


def breakdown(
    profile: str, started: float, ended: float, marks: dict[str, Any], summary: dict[str, Any]
) -> dict[str, Any]:
    fixtures = marks["fixtures"]
    m = marks["marks"]
    by_node = {c.get("nodeid"): c for c in summary["checks"] if c.get("nodeid")}
    checks = []
    for nodeid, phases in marks["items"].items():
        check = by_node.get(nodeid, {})
        spans = {when: _span(phases.get(when)) for when in ("setup", "call", "teardown")}
        checks.append({"check": check.get("check_id", nodeid), "status": check.get("status"), **spans})
    # The fixtures are set up inside the first checks' setup phases: subtract them there.
    fixture_s = {name: _span(fixtures.get(name)) for name in ("rv_target", "rv_adapter", "rv_browser")}
    pages = [p for p in marks["pages"] if "end" in p]
    page_total = sum(p["end"] - p["start"] for p in pages)
    connects = [p["wait_connected"][0][1] - p["open"][0][0] for p in pages if p.get("open") and p.get("wait_connected")]
    last_teardown = max(
        (phases.get("teardown", [0, 0])[1] for phases in marks["items"].values()), default=m["sessionfinish"]
    )
    parts = {
        "process start → pytest configured": round(m["configure"] - started, 2),
        "collection": round(m["collected"] - m["sessionstart"], 2),
        "stack start + preflight (rv_target)": fixture_s["rv_target"],
        "logins (rv_adapter)": fixture_s["rv_adapter"],
        "browser launch (rv_browser)": fixture_s["rv_browser"],
        f"page opens ({len(pages)} pages: context + goto + login + connected)": round(page_total, 2),
        "checks, less fixtures and page opens": round(
            sum(c["setup"] + c["call"] + c["teardown"] for c in checks) - sum(fixture_s.values()) - page_total, 2
        ),
        "reports + exit": round(ended - last_teardown, 2),
    }
    waits = unavoidable_waits(summary)
    page_connect = statistics.median(connects) if connects else 0.0
    floor = fixture_s["rv_target"] + fixture_s["rv_browser"] + page_connect + sum(waits.values())
    wall = ended - started
    return {
        "profile": profile,
        "wall_s": round(wall, 2),
        "pytest_session_s": round(m["sessionfinish"] - m["sessionstart"], 2),
        "summary_duration_s": summary.get("duration_s"),
        "breakdown_s": parts,
        "page_connect_s": {
            "n": len(connects),
            "median": round(page_connect, 3),
            "min": round(min(connects), 3) if connects else None,
            "max": round(max(connects), 3) if connects else None,
        },
        "checks_s": sorted(checks, key=lambda c: -(c["setup"] + c["call"] + c["teardown"])),
        "floor_s": {
            "stack start": fixture_s["rv_target"],
            "browser launch": fixture_s["rv_browser"],
            "one page connect": round(page_connect, 3),
            **{f"wait: {k}": round(v, 3) for k, v in waits.items()},
            "total": round(floor, 2),
        },
        "ratio_wall_to_floor": ratio(wall, floor),
        "ratio_without_stack": ratio(wall - fixture_s["rv_target"], floor - fixture_s["rv_target"]),
    }


def unavoidable_waits(summary: dict[str, Any]) -> dict[str, float]:
    """Seconds the checks must wait whatever the harness does: deliveries, recoveries, observation windows."""
    waits: dict[str, float] = {}
    for check in summary["checks"]:
        if check.get("status") not in ("passed", "warning"):
            continue
        cid = check["check_id"]
        delivered = sum(
            sum(series.get("samples_ms", []))
            for series in check.get("latency", [])
            if series["segment"].endswith("rendered")
        )
        if delivered:
            waits[f"{cid} deliveries"] = delivered / 1000
        recovery = max([_recovery_s(t) for t in check.get("timelines", [])] + [_after_s(check)])
        if recovery:
            waits[f"{cid} recovery"] = recovery
        window = _window_s(check)
        if window:
            waits[f"{cid} observation window"] = window
    return waits


def _recovery_s(timeline: Any) -> float:
    """Cut → reconnected, from one client's timeline as the fault checks record it (t_ms from the cut)."""
    if not isinstance(timeline, dict):
        return 0.0
    back = [e["t_ms"] for e in timeline.get("events", []) if e.get("what") == "reconnected" and "t_ms" in e]
    return min(back) / 1000 if back else 0.0


def _after_s(check: dict[str, Any]) -> float:
    """The slowest "... after ms" / "after s" a fault or service-worker check measured: the system's own time."""
    found = [0.0]
    for key, value in (check.get("metrics") or {}).items():
        if isinstance(value, int | float) and key.endswith("after ms"):
            found.append(value / 1000)
        elif isinstance(value, int | float) and key.endswith("after s"):
            found.append(float(value))
    return max(found)


def _window_s(check: dict[str, Any]) -> float:
    """Windows a check must observe by definition: the heartbeats it counts (pings x cadence), an idle
    window it must sit through ("... window s", at most the check's own duration)."""
    metrics = check.get("metrics") or {}
    pings, cadence = metrics.get("pings"), metrics.get("cadence ms")
    if isinstance(pings, int) and isinstance(cadence, int | float):
        return pings * cadence / 1000
    windows = [v for k, v in metrics.items() if isinstance(v, int | float) and k.endswith("window s")]
    return min(max(windows), float(check.get("duration_s") or 0)) if windows else 0.0


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--profiles", default="smoke,signoff", help="run profiles, in order (default: smoke,signoff)")
    parser.add_argument("--check", action="append", default=[], help="only these checks (passed to run --check)")
    parser.add_argument("--output", type=Path, default=None)
    parser.add_argument(
        "--reanalyse", type=Path, default=None, help="recompute the breakdowns of an earlier verdict.json (no run)"
    )
    return parser.parse_args(argv)


def reanalyse(previous: Path) -> dict[str, Any]:
    """The same runs, their breakdown and floor computed again from the files they left."""
    document: dict[str, Any] = json.loads(previous.read_text())
    for number, run in enumerate(document["runs"]):
        folder = Path(run["reports"])
        marks = json.loads((folder / "timing.json").read_text())
        summary = json.loads((folder / "summary.json").read_text())
        started, ended = marks["marks"]["configure"] - run["breakdown_s"]["process start → pytest configured"], 0.0
        ended = started + run["wall_s"]
        fresh = breakdown(run["profile"], started, ended, marks, summary)
        document["runs"][number] = {**run, **fresh}
    return document


def main(argv: list[str]) -> int:
    args = parse(argv)
    if args.reanalyse:
        document = reanalyse(args.reanalyse)
        document.pop("bench", None)
        document["measured"] = document.get("measured") or document.pop("when", None)
        document.pop("when", None)
        emit("verdict", document, args.output or args.reanalyse)
        return 0
    info = machine()
    runs = []
    for profile in args.profiles.split(","):
        note(f"run --profile {profile} (load {loadavg()})")
        result = run_profile(profile.strip(), args.check)
        floor = result["floor_s"]["total"]
        note(f"{profile}: {result['wall_s']} s wall, floor {floor} s, x{result['ratio_wall_to_floor']}")
        runs.append(result)
    emit("verdict", {"command": "bench/verdict.py " + " ".join(argv), "machine": info, "runs": runs}, args.output)
    return 0 if all(r["exit"] == 0 for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
