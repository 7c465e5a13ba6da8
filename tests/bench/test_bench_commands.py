"""Every benchmark command in bench/ runs at a tiny size and prints its machine-readable result.

Seconds each, not minutes: the figures themselves come from the full commands (bench/RESULTS.md).
The Python-only ones always run; Artillery's and Locust's are skipped, saying so, when those tools
were not installed on demand (bench/peer.py --install, bench/storm.py --install).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "bench"
ARTILLERY = BENCH / ".tools" / "artillery" / "node_modules" / ".bin" / "artillery"
LOCUST = BENCH / ".tools" / "locust-venv" / "bin" / "locust"


def bench(script: str, *args: str, output: Path, timeout_s: float = 240) -> dict[str, Any]:
    """Run one benchmark command; its last stdout line and its --output file are the same JSON."""
    done = subprocess.run(
        [sys.executable, str(BENCH / script), *args, "--output", str(output)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
    )
    assert done.returncode == 0, f"{script} exited {done.returncode}:\n{done.stderr[-3000:]}"
    printed = json.loads(done.stdout.strip().splitlines()[-1])
    assert printed == json.loads(output.read_text())
    assert printed["machine"]["nproc"] >= 1
    assert printed["command"].startswith(f"bench/{script}")
    return printed


def test_scale_connects_fans_out_and_storms(tmp_path: Path) -> None:
    result = bench("scale.py", "--clients", "10", "--rounds", "1", output=tmp_path / "scale.json")
    (row,) = result["results"]
    assert row["clients"] == 10
    assert row["fanout"]["latency_ms"]["n"] == 10
    assert row["storm"]["back"] == 10
    assert set(row["memory_kb_per_client"]) == {"app", "nginx", "supervisor+edge", "clients"}


def test_scale_says_which_what_ifs_are_now_the_codes_own(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reconnect wait (10 s) and the edge's backlog (4096) are in src/ since commit 9ab878f."""
    monkeypatch.syspath_prepend(str(BENCH))
    import scale  # bench/ is not a package: importable once it is on sys.path

    notes = scale.what_if_notes("client_wait=10,backlog=4096,sslbuf=16")
    assert [note.split(":")[0] for note in notes] == ["client_wait=10", "backlog=4096"]
    assert all("a no-op" in note for note in notes)
    assert scale.what_if_notes("client_wait=1") == []  # the wait before that commit: still a what-if
    with pytest.raises(SystemExit, match="unknown"):
        scale.what_if_notes("nosuch=1")


def test_fidelity_compares_reported_pure_and_naive(tmp_path: Path) -> None:
    result = bench("fidelity.py", "--messages", "5", "--cycles", "1", output=tmp_path / "fidelity.json")
    figures = result["figures_ms"]
    assert all(figure["n"] == 5 for figure in figures.values()), figures
    assert result["ratios_p50"]["reported frame / pure"] > 0


def test_verdict_breaks_a_run_down_against_its_floor(tmp_path: Path) -> None:
    result = bench(
        "verdict.py", "--profiles", "smoke", "--check", "HS-001", "--check", "RT-001", output=tmp_path / "v.json"
    )
    (run,) = result["runs"]
    assert run["verdict"] == "PASSED"
    assert run["floor_s"]["total"] > 0
    assert run["ratio_wall_to_floor"] >= 1
    assert run["page_connect_s"]["n"] == 2


def test_latency_per_hop(tmp_path: Path) -> None:
    result = bench("latency.py", "--messages", "5", "--starts", "1", output=tmp_path / "latency.json")
    segments = {row["segment"]: row for row in result["results"]}
    assert segments["socket A→B: edge (TLS) → nginx → app"]["n"] == 5
    assert segments["browser A→B: send → frame"]["n"] == 5


@pytest.mark.skipif(not ARTILLERY.exists(), reason="Artillery is not installed (bench/peer.py --install)")
def test_peer_runs_artillery_side_by_side(tmp_path: Path) -> None:
    result = bench("peer.py", "--clients", "10", "--rounds", "1", output=tmp_path / "peer.json")
    (row,) = result["results"]
    assert row["ours"]["storm"]["back"] == 10
    assert row["artillery"]["connected"] == 10
    assert row["artillery"]["fanout"]["latency_ms"]["n"] == 10


@pytest.mark.skipif(not LOCUST.exists(), reason="Locust is not installed (bench/storm.py --install)")
def test_storm_over_a_locust_master_and_two_workers(tmp_path: Path) -> None:
    result = bench(
        "storm.py", "--users", "10", "--workers", "2", "--rounds", "1", "--timeout", "90", output=tmp_path / "s.json"
    )
    summary = result["summary"]
    assert summary["workers"] == 2
    assert summary["back_within_budget"] == 10, summary
    assert result["passed"] is True


@pytest.mark.skipif(not LOCUST.exists(), reason="Locust is not installed (bench/storm.py --install)")
@pytest.mark.parametrize(("allowed", "cut"), [('["client", "edge"]', "edge dropped"), ('["client"]', "worker cut")])
def test_ft_005_runs_its_storm_through_locust_and_judges_it(tmp_path: Path, allowed: str, cut: str) -> None:
    """`faults.storm_runner = "locust"`: the suite's own verdict and report, from Locust's samples."""
    command = [sys.executable, "-m", "realtime_verify.cli", "run", "--profile", "nightly", "--check", "FT-005"]
    command += ["--output", str(tmp_path), "--set", "faults.storm_runner=locust", "--set", "faults.storm_clients=20"]
    command += ["--set", f"faults.allowed={allowed}"]
    env = {**os.environ, "RV_LOCUST_VENV": str(LOCUST.parents[1])}
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    [storm] = json.loads((tmp_path / "summary.json").read_text())["checks"]
    assert storm["status"] == "passed"
    assert storm["metrics"]["runner"] == "Locust, 2 worker(s)"
    assert storm["metrics"]["back"] == 20
    assert cut in storm["metrics"]["fault"]
    assert any(path.endswith("locust/master.log") for path in storm["artifacts"])


def test_ft_005_through_locust_without_locust_is_one_line_and_exit_2(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "realtime_verify.cli", "run", "--profile", "nightly", "--check", "FT-005"]
    command += ["--output", str(tmp_path), "--set", "faults.storm_runner=locust"]
    env = {**os.environ, "RV_LOCUST_VENV": str(tmp_path / "no-locust")}
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 2
    assert "Locust is not installed in" in done.stdout + done.stderr
    assert "python -m realtime_verify.faults.locust --install" in done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
