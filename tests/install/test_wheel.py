"""The install a team puts in its own pipeline: the built wheel, in a fresh venv outside this repository.

Builds the wheel from a copy of its inputs (pyproject.toml, setup.py, src/, tests/e2e/, the
socket.io client from node_modules), installs the locked dependencies (requirements.lock, hashes
checked) and the wheel into a new venv under a temporary folder, and runs `realtime-verify run
--profile smoke` from there against the embedded stack: no checkout, no Node.js, no PYTHONPATH.
Slow (a fresh venv downloads every dependency): a few minutes; `make install-test` runs it alone.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.reporting.schema_check import summary_errors

ROOT = Path(__file__).resolve().parents[2]
BUILD_TIMEOUT_S = 300
INSTALL_TIMEOUT_S = 600
RUN_TIMEOUT_S = 300
SHIPPED = (
    "realtime_verify/suite/conftest.py",
    "realtime_verify/suite/test_realtime.py",
    "realtime_verify/reporting/summary.schema.json",
    "realtime_verify/reporting/report.css",
    "realtime_verify/js/instrument.js",
    "reference_app/node_modules/socket.io-client/dist/socket.io.esm.min.js",
    "reference_app/node_modules/socket.io-client/LICENSE",
)


def run(command: list[str], *, cwd: Path, timeout: float, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    assert done.returncode == 0, (
        f"{' '.join(command)} exited {done.returncode}:\n{done.stdout[-4000:]}{done.stderr[-4000:]}"
    )
    return done.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = tmp_path_factory.mktemp("source")
    ignore = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.pyc")
    for name in ("pyproject.toml", "setup.py", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(ROOT / "src", source / "src", ignore=ignore)
    shutil.copytree(ROOT / "tests" / "e2e", source / "tests" / "e2e", ignore=ignore)
    shutil.copytree(ROOT / "node_modules" / "socket.io-client", source / "node_modules" / "socket.io-client")
    dist = tmp_path_factory.mktemp("dist")
    env = {**os.environ, "RV_REQUIRE_BROWSER_CLIENT": "1"}
    run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), "."],
        cwd=source,
        timeout=BUILD_TIMEOUT_S,
        env=env,
    )
    (built,) = dist.glob("realtime_verify-*.whl")
    return built


def test_the_wheel_ships_the_suite_the_schema_and_the_browser_client(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    assert [name for name in SHIPPED if name not in names] == []
    assert not any(name.startswith(("tests/", "node_modules/")) for name in names)


def test_the_smoke_profile_runs_from_a_fresh_venv_outside_the_repository(
    wheel: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    home = tmp_path_factory.mktemp("elsewhere")
    assert ROOT not in home.parents
    venv = home / "venv"
    run([sys.executable, "-m", "venv", str(venv)], cwd=home, timeout=120)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    run([*pip, "--require-hashes", "-r", str(ROOT / "requirements.lock")], cwd=home, timeout=INSTALL_TIMEOUT_S)
    run([*pip, "--no-deps", str(wheel)], cwd=home, timeout=INSTALL_TIMEOUT_S)
    # Nothing of this repository leaks in: no PYTHONPATH, no RV_* settings, another working directory.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RV_", "PYTHON", "VIRTUAL_ENV"))}
    output = home / "reports"
    done = subprocess.run(
        [str(venv / "bin" / "realtime-verify"), "run", "--profile", "smoke", "--output", str(output)],
        cwd=home,
        env=env,
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-3000:]
    # The suite that ran is the wheel's (pytest's rootdir line), not this repository's tests/e2e.
    assert re.search(r"rootdir: \S*/site-packages/realtime_verify/suite\b", done.stdout), done.stdout[:1500]
    summary = json.loads((output / "summary.json").read_text(encoding="utf-8"))
    assert summary_errors(summary) == []
    assert (summary["verdict"], summary["run_profile"]) == ("PASSED", "smoke")
    assert summary["counts"]["failed"] == 0
