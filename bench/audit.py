"""How fast the static audit reads what teams give it: the largest corpus case, a 400-server nginx
conf, a 150 000-line .env, and input sizes growing tenfold (linear: the time grows about tenfold too).

    .venv/bin/python bench/audit.py [--repeat 5] [--output reports/bench/audit.json]

Times are the median of --repeat runs, in ms, measured in this process around the audit call
(no subprocess start-up). The issue's bar: well under a second per file.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from _common import REPO, emit, loadavg, machine

from realtime_verify.audit.run import AuditInputs, run_audit
from realtime_verify.config import load_profile
from realtime_verify.outcome import CheckResult

CORPUS = REPO / "tests" / "fixtures" / "audit-corpus"
GOOD_LOCATION = (
    "location /socket.io/ { proxy_pass http://127.0.0.1:8000; proxy_http_version 1.1;"
    " proxy_set_header Upgrade $http_upgrade; proxy_set_header Connection $connection_upgrade;"
    " proxy_set_header Host $http_host; proxy_set_header X-Forwarded-Proto $scheme; proxy_read_timeout 120s; }"
)
MAP = "map $http_upgrade $connection_upgrade { default upgrade; '' close; }\n"


def audit(inputs: AuditInputs) -> list[CheckResult]:
    """What `realtime-verify audit --nginx F --env-file F --site URL` runs, without the process start."""
    return run_audit(load_profile(None, env={}), inputs, process_env={})


def median_ms(work: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        work()
        times.append((time.perf_counter() - started) * 1000)
    return round(statistics.median(times), 1)


def corpus_case(case: Path) -> None:
    """One corpus case as its test runs it (tests/unit/test_audit_corpus.py)."""
    sys.path.insert(0, str(REPO))
    from tests.unit.test_audit_corpus import run_case

    run_case(case)


def nginx_conf(folder: Path, servers: int) -> Path:
    body = "".join(
        f"server {{ listen 443 ssl; server_name s{i}.example.com; {GOOD_LOCATION} location / {{ return 404; }} }}\n"
        for i in range(servers)
    )
    path = folder / f"nginx-{servers}.conf"
    path.write_text(MAP + body)
    return path


def env_file(folder: Path, lines: int) -> Path:
    filler = "".join(f"VAR_{i}=value_{i}_{'x' * 40} # comment\n" for i in range(lines))
    path = folder / f"env-{lines}"
    path.write_text(filler + "NEXT_PUBLIC_ENABLE_WEBSOCKETS=true\nNEXT_PUBLIC_WEBSOCKET_URL=wss://s1.example.com\n")
    return path


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--output", type=Path, default=None)
    args = parser.parse_args(argv)
    load = loadavg()
    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="rv-bench-audit-") as name:
        folder = Path(name)
        largest = max(
            (folder for folder in CORPUS.iterdir() if folder.is_dir()),
            key=lambda case: sum(p.stat().st_size for p in case.rglob("*") if p.is_file()),
        )
        results[f"largest corpus case ({largest.name})"] = median_ms(lambda: corpus_case(largest), args.repeat)
        for servers in (40, 400, 4000):
            conf = nginx_conf(folder, servers)
            site = "https://s1.example.com"
            results[f"nginx, {servers} servers ({conf.stat().st_size // 1024} KB)"] = median_ms(
                lambda conf=conf, site=site: audit(AuditInputs(nginx=conf, site_url=site)), args.repeat
            )
        for lines in (15_000, 150_000):
            env = env_file(folder, lines)
            results[f".env, {lines} lines ({env.stat().st_size // 1024} KB)"] = median_ms(
                lambda env=env: audit(AuditInputs(env_files=[env], site_url="https://s1.example.com")), args.repeat
            )
    emit(
        "audit",
        {
            "command": "bench/audit.py " + " ".join(argv),
            "machine": machine(),
            "loadavg_start": load,
            "loadavg_end": loadavg(),
            "median_ms": results,
        },
        args.output,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
