"""The tables of bench/RESULTS.md, from the JSON the benchmarks wrote (reports/bench/*.json).

    .venv/bin/python bench/render.py [reports/bench] > /tmp/tables.md

Prints Markdown: one section per result file found, each with the command that produced it and
the load average it ran under. The prose of RESULTS.md (what the figures mean) is written by hand.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any


def load(folder: Path, name: str) -> dict[str, Any] | None:
    path = folder / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def row(*cells: Any) -> str:
    return "| " + " | ".join("" if c is None else str(c) for c in cells) + " |"


def table(header: list[str], rows: list[list[Any]]) -> list[str]:
    return [row(*header), row(*["---"] * len(header)), *(row(*r) for r in rows)]


def fmt_load(values: Any) -> str:
    return "/".join(str(v) for v in values) if isinstance(values, list) else ""


def machine(doc: dict[str, Any]) -> list[str]:
    m = doc["machine"]
    p = m["packages"]
    return [
        f"- nproc {m['nproc']}, RAM {m['ram_gib']} GiB, kernel {m['kernel']}, ulimit -n {m['ulimit_nofile']}",
        f"- Python {m['python']}, python-socketio {p['python-socketio']}, python-engineio {p['python-engineio']},"
        f" aiohttp {p['aiohttp']}, uvicorn {p['uvicorn']}, h11 {p['h11']}, Playwright {p['playwright']}",
        f"- {m['chromium']}; {m['nginx']}; Node {m['node']}",
    ]


def verdict(doc: dict[str, Any]) -> list[str]:
    out = [f"`{doc['command']}`", ""]
    out += table(
        ["profile", "wall s", "floor s", "wall / floor", "without stack start", "verdict", "load before → after"],
        [
            [
                r["profile"],
                r["wall_s"],
                r["floor_s"]["total"],
                f"**{r['ratio_wall_to_floor']}**",
                r["ratio_without_stack"],
                f"{r['verdict']} {r['counts']}",
                f"{fmt_load(r['loadavg_start'])} → {fmt_load(r['loadavg_end'])}",
            ]
            for r in doc["runs"]
        ],
    )
    for r in doc["runs"]:
        out += ["", f"**{r['profile']}**: where the {r['wall_s']} s went (s)", ""]
        out += table(["part", "s"], [[k, v] for k, v in r["breakdown_s"].items()])
        out += ["", f"floor of {r['profile']} (s)", ""]
        out += table(["part", "s"], [[k, v] for k, v in r["floor_s"].items()])
        pc = r["page_connect_s"]
        out += ["", f"page goto → connected: n {pc['n']}, median {pc['median']} s, min {pc['min']}, max {pc['max']}"]
        slow = [c for c in r["checks_s"] if c["setup"] + c["call"] + c["teardown"] > 0.5][:8]
        out += [
            "",
            "slowest checks (s, setup + call + teardown): "
            + ", ".join(f"{c['check']} {c['setup'] + c['call'] + c['teardown']:.1f}" for c in slow),
        ]
    return out


def fidelity(doc: dict[str, Any]) -> list[str]:
    out = [f"`{doc['command']}` (load {fmt_load(doc['loadavg_start'])} → {fmt_load(doc['loadavg_end'])})", ""]
    out += table(
        ["method", "n", "p50 ms", "p95 ms", "max ms"],
        [[k, v["n"], v.get("p50"), v.get("p95"), v.get("max")] for k, v in doc["figures_ms"].items()],
    )
    out += ["", "ratios of p50: " + ", ".join(f"{k} **{v}**" for k, v in doc["ratios_p50"].items())]
    out += ["ratios of p95: " + ", ".join(f"{k} {v}" for k, v in doc["ratios_p95"].items())]
    return out


def scale(doc: dict[str, Any]) -> list[str]:
    out = [f"`{doc['command']}`", ""]
    ok = [r for r in doc["results"] if "error" not in r]
    out += table(
        [
            "N",
            "what-if",
            "connect s (per s)",
            "per connect p50/p95 ms",
            "KB/client: clients, app, nginx, edge",
            "CPU ms/connect: clients, app, nginx, edge",
            "fan-out p50/p95 ms",
            "all reached p95 ms",
            "storm p50/p95/max ms",
            "back ≤ budget",
            "edge accepts",
            "listen overflows",
            "load start",
        ],
        [
            [
                r["clients"],
                r.get("what_if") or "",
                f"{r['connect']['wall_s']} ({r['connect']['per_s']})",
                f"{r['connect']['per_connect_ms'].get('p50')}/{r['connect']['per_connect_ms'].get('p95')}",
                ", ".join(str(r["memory_kb_per_client"][k]) for k in ("clients", "app", "nginx", "supervisor+edge")),
                ", ".join(
                    str(r["connect"].get("cpu_ms_per_connect", {}).get(k))
                    for k in ("clients", "app", "nginx", "supervisor+edge")
                ),
                f"{r['fanout']['latency_ms'].get('p50')}/{r['fanout']['latency_ms'].get('p95')}",
                r["fanout"]["all_reached_ms"].get("p95"),
                "/".join(str(r["storm"]["reconnect_ms"].get(k)) for k in ("p50", "p95", "max")),
                # Out of the watchers that connected (the storm cuts those only).
                f"{r['storm']['back_within_budget']}/{r['clients'] - r['connect'].get('failed', 0)}",
                r["storm"]["edge_accepted"],
                r["storm"]["kernel"].get("ListenOverflows"),
                fmt_load(r.get("loadavg_start")),
            ]
            for r in ok
        ],
    )
    for r in doc["results"]:
        if "error" in r:
            out += ["", f"N={r['clients']}: **{r['error']}**", "", "```", r.get("stderr", "")[:1500], "```"]
    for r in ok:
        cpu = r["storm"].get("cpu", {})
        out += [
            "",
            f"N={r['clients']}{' ' + r['what_if'] if r.get('what_if') else ''}: CPU during the storm"
            f" ({r['storm']['waited_s']} s): "
            + ", ".join(f"{k} {v['cpu_s']} s ({v['cpu_pct_of_core']}% of a core)" for k, v in cpu.items())
            + "; fan-out CPU ms per delivery: "
            + ", ".join(f"{k} {v}" for k, v in r["fanout"].get("cpu_ms_per_delivery", {}).items()),
        ]
        for name, profile in (r["storm"].get("profiles") or {}).items():
            hottest = ", ".join(f"{x['function']} {x['pct']}%" for x in profile["self"][:8])
            widest = ", ".join(f"{x['function']} {x['pct']}%" for x in profile["inclusive"][8:16])
            out += [
                "",
                f"py-spy, {name} during the storm: busy {profile['busy_pct']}% of the window;"
                f" hottest (self): {hottest}; inclusive: {widest}",
            ]
    if doc.get("reading"):
        out += ["", "Reading: " + "; ".join(doc["reading"])]
    for line in doc.get("what_if_notes") or []:
        out += ["", f"Note: {line}"]
    return out


def peer(doc: dict[str, Any]) -> list[str]:
    out = [f"`{doc['command']}`", ""]
    rows = []
    for r in doc["results"]:
        ours, art = r.get("ours", {}), r.get("artillery", {})
        for label, x in (("ours (python-socketio)", ours), ("Artillery 2.0.21", art)):
            if x.get("artillery_crashed"):
                label += " (its worker crashed: " + str(x.get("artillery_first_error", ""))[:60] + ")"
            if not x or "error" in x or "not_run" in x:
                rows.append([r["clients"], label, x.get("error") or x.get("not_run") or "not run", *[""] * 7])
                continue
            clients_key = "clients" if "clients" in x["memory_kb_per_client"] else "clients (artillery)"
            cpu_connect = x["connect"].get("cpu_ms_per_connect") or x.get("cpu_ms_per_connect") or {}
            rows.append(
                [
                    r["clients"],
                    label,
                    f"{x['connect']['wall_s']} s ({x['connect']['per_s']}/s)",
                    f"{x['connect']['per_connect_ms'].get('p50')}/{x['connect']['per_connect_ms'].get('p95')}",
                    x["memory_kb_per_client"][clients_key],
                    cpu_connect.get(clients_key),
                    f"{x['fanout']['latency_ms'].get('p50')}/{x['fanout']['latency_ms'].get('p95')}",
                    "/".join(str(x["storm"]["reconnect_ms"].get(k)) for k in ("p50", "p95", "max")),
                    f"{x['storm']['back']}/{r['clients']}",
                    x["storm"].get("edge_accepted"),
                ]
            )
        rows.append(["", "load", f"{fmt_load(r['loadavg_start'])} → {fmt_load(r['loadavg_end'])}", *[""] * 7])
    out += table(
        [
            "N",
            "client",
            "connect (rate)",
            "per connect p50/p95 ms",
            "client KB/conn",
            "client CPU ms/connect",
            "fan-out p50/p95 ms",
            "storm p50/p95/max ms",
            "back",
            "edge accepts in storm",
        ],
        rows,
    )
    return out


def storm(doc: dict[str, Any]) -> list[str]:
    s = doc["summary"]
    out = [f"`{doc['command']}` (load {fmt_load(doc['loadavg_start'])} → {fmt_load(doc['loadavg_end'])})", ""]
    out += table(
        [
            "users",
            "workers",
            "connected",
            "connect p50/p95 ms",
            "fan-out p50/p95 ms (n)",
            "reconnect p50/p95/max ms",
            "back ≤ budget",
            "cut",
            "run s",
        ],
        [
            [
                s["users"],
                s["workers"],
                s["connected"],
                f"{s['connect_ms'].get('p50')}/{s['connect_ms'].get('p95')}",
                f"{s['fanout_ms'].get('p50')}/{s['fanout_ms'].get('p95')} ({s['fanout_ms'].get('n')})",
                "/".join(str(s["reconnect_ms"].get(k)) for k in ("p50", "p95", "max")),
                f"{s['back_within_budget']}/{s['connected']} (budget {s['budget_s']} s)",
                s["cut"],
                doc["elapsed_s"],
            ]
        ],
    )
    if s.get("error"):
        out += ["", f"error: {s['error']}"]
    return out


SECTIONS = [
    ("verdict", "Time to verdict", verdict),
    ("fidelity", "Measurement fidelity", fidelity),
    ("scale", "Scale on one machine", scale),
    ("scale-profile", "Scale, profiled (py-spy during the storm)", scale),
    # The watchers' reconnect wait for CONNECT is 10 s since commit 9ab878f: client_wait=1 is the code before it.
    ("scale-whatif-client-wait", "What if the watchers' reconnects waited another time for CONNECT", scale),
    # The edge's backlog is 4096 since commit 9ab878f (the what-if's backlog is a no-op): sslbuf is what is left.
    ("scale-whatif-edge", "What if the edge had smaller TLS buffers", scale),
    ("peer", "A peer, side by side: Artillery", peer),
    ("storm-locust", "Past one machine: Locust, one master, two workers", storm),
    ("storm-locust-2000", "Past one machine: Locust, 2000 users", storm),
]


def main(argv: list[str]) -> int:
    folder = Path(argv[0]) if argv else Path(__file__).resolve().parents[1] / "reports" / "bench"
    first = True
    for name, title, render in SECTIONS:
        doc = load(folder, name)
        if doc is None:
            continue
        if first:
            print("### Machine\n")
            print("\n".join(machine(doc)))
            first = False
        print(f"\n### {title}\n")
        print(f"_{doc.get('measured') or doc['when']}_\n")
        print("\n".join(render(doc)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
