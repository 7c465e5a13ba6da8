"""The lock files cover pyproject.toml, and the wheel's inputs are declared (no build: that is test_wheel)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^\s;\\]+)", re.MULTILINE)


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(lock: str) -> dict[str, Version]:
    return {normalize(name): Version(version) for name, version in PIN.findall((ROOT / lock).read_text())}


def requirements(*, dev: bool) -> list[Requirement]:
    listed = PYPROJECT["project"]["dependencies"] + (
        PYPROJECT["project"]["optional-dependencies"]["dev"] if dev else []
    )
    return [Requirement(line) for line in listed]


@pytest.mark.parametrize(("lock", "dev"), [("requirements.lock", False), ("requirements-dev.lock", True)])
def test_the_lock_pins_every_requirement_within_its_range(lock: str, dev: bool) -> None:
    pinned = pins(lock)
    stale = [
        f"{req} (locked: {pinned.get(normalize(req.name), 'missing')})"
        for req in requirements(dev=dev)
        if normalize(req.name) not in pinned or pinned[normalize(req.name)] not in req.specifier
    ]
    assert stale == [], f"{lock} is stale: run `make lock`"


@pytest.mark.parametrize("lock", ["requirements.lock", "requirements-dev.lock"])
def test_every_pin_has_hashes(lock: str) -> None:
    text = (ROOT / lock).read_text()
    blocks = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
    unhashed = [block.split()[0] for block in blocks if "==" in block and "--hash=sha256:" not in block]
    assert unhashed == []


def test_the_two_locks_agree() -> None:
    runtime, dev = pins("requirements.lock"), pins("requirements-dev.lock")
    assert {name: version for name, version in runtime.items() if dev.get(name) != version} == {}


def test_dev_tools_stay_out_of_the_runtime_install() -> None:
    tools = {normalize(Requirement(r).name) for r in PYPROJECT["project"]["optional-dependencies"]["dev"]}
    assert tools & set(pins("requirements.lock")) == set()


def test_the_wheel_declares_the_suite_and_the_report_files() -> None:
    setuptools = PYPROJECT["tool"]["setuptools"]
    assert setuptools["package-dir"]["realtime_verify.suite"] == "tests/e2e"
    data = setuptools["package-data"]["realtime_verify"]
    assert {"reporting/*.css", "reporting/*.json"} <= set(data)
    assert (ROOT / "src/realtime_verify/reporting/summary.schema.json").is_file()
    assert "realtime_verify.suite" in (ROOT / "setup.py").read_text()
