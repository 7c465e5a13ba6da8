"""The CI templates in ci/: real linters pass on each, and each does what ci/README.md promises."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
GITHUB = sorted((ROOT / "ci" / "github").glob("*.yml"))
GITLAB_SHARED = ROOT / "ci" / "gitlab" / "realtime-verify.gitlab-ci.yml"
GITLAB = sorted(p for p in (ROOT / "ci" / "gitlab").glob("*.gitlab-ci.yml") if p != GITLAB_SHARED)
USES = {"post-deploy": "smoke", "nightly": "nightly", "signoff": "signoff"}
SECRETS = ("RV_USER_A", "RV_USER_A_PASSWORD", "RV_USER_B", "RV_USER_B_PASSWORD", "CLOUDFLARE_API_TOKEN")
LINT_TIMEOUT_S = 60


def tool(name: str) -> str:
    found = shutil.which(name, path=str(Path(sys.executable).parent))
    assert found, f"{name} is not installed in this venv: run `make setup` (it is a dev dependency)"
    return found


def lint(*command: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, timeout=LINT_TIMEOUT_S, check=False)
    assert done.returncode == 0, done.stdout + done.stderr


def use_of(path: Path) -> str:
    return next(use for use in USES if path.name.startswith(use))


def test_there_are_three_of_each() -> None:
    assert sorted(use_of(p) for p in GITHUB) == sorted(USES)
    assert sorted(use_of(p) for p in GITLAB) == sorted(USES)


def test_actionlint_passes_on_the_github_workflows() -> None:
    lint(tool("actionlint"), "-no-color", *map(str, GITHUB))


def test_the_github_workflows_follow_github_s_schema() -> None:
    lint(tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", *map(str, GITHUB))


def test_the_gitlab_templates_follow_gitlab_s_ci_schema() -> None:
    lint(tool("check-jsonschema"), "--builtin-schema", "vendor.gitlab-ci", str(GITLAB_SHARED), *map(str, GITLAB))


@pytest.mark.parametrize("path", GITLAB, ids=lambda p: p.name)
def test_every_gitlab_job_extends_what_the_shared_file_defines(path: Path) -> None:
    shared: dict[str, Any] = yaml.safe_load(GITLAB_SHARED.read_text())
    jobs: dict[str, Any] = yaml.safe_load(path.read_text())
    for name, job in jobs.items():
        if isinstance(job, dict) and "script" in job:
            assert job.get("extends") in shared, f"{name} extends {job.get('extends')!r}"


def scripts(path: Path) -> list[str]:
    """Every shell script of a template: GitHub `run:` steps, GitLab `before_script`/`script` lines."""
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    if "jobs" in data:
        return [step["run"] for job in data["jobs"].values() for step in job["steps"] if "run" in step]
    return [
        "\n".join(job.get(key, []))
        for job in data.values()
        if isinstance(job, dict)
        for key in ("before_script", "script")
        if key in job
    ]


@pytest.mark.parametrize("path", [*GITHUB, GITLAB_SHARED, *GITLAB], ids=lambda p: p.name)
def test_every_script_is_valid_bash(path: Path) -> None:
    for script in scripts(path):
        # ${{ ... }} is substituted by GitHub before bash sees the script.
        done = subprocess.run(
            ["bash", "-n"], input=script.replace("${{", "${_"), capture_output=True, text=True, timeout=10, check=False
        )
        assert done.returncode == 0, f"{script}\n{done.stderr}"


@pytest.mark.parametrize("path", [*GITHUB, *GITLAB], ids=lambda p: p.name)
def test_each_runs_its_profile_with_the_secrets_from_the_ci_and_keeps_reports(path: Path) -> None:
    text = path.read_text()
    installed = text if path in GITHUB else text + GITLAB_SHARED.read_text()
    assert f"--profile {USES[use_of(path)]}" in text
    assert "--require-hashes -r .realtime-verify/requirements.lock" in installed
    assert "playwright install --with-deps chromium" in installed
    assert "reports/" in installed
    if path in GITHUB:
        assert all(f"{name}: ${{{{ secrets.{name} }}}}" in text for name in SECRETS)
    else:
        assert all(name in GITLAB_SHARED.read_text() for name in SECRETS)


@pytest.mark.parametrize("path", [*GITHUB, GITLAB_SHARED, *GITLAB], ids=lambda p: p.name)
def test_none_writes_to_cloudflare(path: Path) -> None:
    text = path.read_text().lower()
    assert "api.cloudflare.com" not in text
    assert not any(verb in text for verb in ("-x put", "-x patch", "-x post", "-x delete", "wrangler"))


def test_the_nightly_keeps_its_history_between_runs() -> None:
    github = (ROOT / "ci/github/nightly.yml").read_text()
    assert "actions/cache/restore@v4" in github
    assert "actions/cache/save@v4" in github
    assert github.count("path: reports/history.jsonl") == 2
    gitlab: dict[str, Any] = yaml.safe_load((ROOT / "ci/gitlab/nightly.gitlab-ci.yml").read_text())
    assert gitlab["realtime-verify-nightly"]["cache"]["paths"] == ["reports/history.jsonl"]
