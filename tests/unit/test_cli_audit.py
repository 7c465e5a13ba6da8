"""`realtime-verify audit`: the findings table, JSON, exit codes, and one clear line for bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from realtime_verify.stack.supervisor import reference_app_dir
from realtime_verify.stack.zone import BASE_SCENARIO, ZoneApi, serve_zone_api

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
CORPUS = FIXTURES / "audit-corpus"
DEPLOY = reference_app_dir() / "deploy"


@contextmanager
def zone_api(scenario: str = BASE_SCENARIO, status: int | None = None) -> Iterator[tuple[ZoneApi, str]]:
    api = ZoneApi(overlays=[] if scenario == BASE_SCENARIO else [scenario], status_override=status)
    with serve_zone_api(api) as url:
        yield api, url


def audit(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    done = subprocess.run(
        [sys.executable, "-m", "realtime_verify.cli", "audit", "--offline", "--output", str(tmp_path), *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        check=False,
    )
    return done.returncode, done.stdout + done.stderr


def test_the_reference_deployment_passes_and_writes_json(tmp_path: Path) -> None:
    code, out = audit(
        tmp_path,
        "--nginx",
        str(DEPLOY / "nginx.prod.conf"),
        "--env-file",
        str(DEPLOY / "reference.env"),
        "--site",
        "https://app.example.com",
        "--format",
        "json",
    )
    assert code == 0, out
    data = json.loads(out)
    assert {c["check_id"]: c["status"] for c in data["checks"] if c["check_id"].startswith(("ENV", "NGX"))} == {
        f"{family}-00{n}": "passed" for family, count in (("ENV", 3), ("NGX", 5)) for n in range(1, count + 1)
    }
    assert json.loads((tmp_path / "audit.json").read_text()) == data


def test_findings_name_the_place_and_the_fix_and_exit_1(tmp_path: Path) -> None:
    code, out = audit(
        tmp_path,
        "--nginx",
        str(FIXTURES / "nginx" / "inheritance-trap.conf"),
        "--env-file",
        str(FIXTURES / "env" / "ws-on-https.env"),
        "--site",
        "https://app.example.com",
    )
    assert code == 1
    assert "FAILED   NGX-003" in out
    assert "inheritance-trap.conf:6" in out
    assert "ws-on-https.env:2" in out
    assert "fix:" in out


def test_the_nginx_root_maps_etc_nginx_and_an_unread_include_is_review(tmp_path: Path) -> None:
    case = CORPUS / "09-debian-sites-enabled-without-prefix-root"
    site = ("--site", "https://tickets.example.com", "--nginx", str(case / "etc-nginx" / "nginx.conf"))
    env = tmp_path / ".env.production"
    env.write_text("NEXT_PUBLIC_ENABLE_WEBSOCKETS=true\nNEXT_PUBLIC_WEBSOCKET_URL=wss://tickets.example.com\n")
    code, out = audit(tmp_path, *site, "--env-file", str(env))
    assert code == 0, out  # review is not a failure; the ENV results given in the same run are kept
    assert "REVIEW   NGX-001" in out
    assert "nginx.conf:49: no server for tickets.example.com" in out
    assert "PASSED   ENV-001" in out
    data = json.loads((tmp_path / "audit.json").read_text())
    review = next(c for c in data["checks"] if c["check_id"] == "NGX-001")
    assert "`include /etc/nginx/sites-enabled/*` at" in review["findings"][0]["found"]
    code, out = audit(tmp_path, *site, "--nginx-root", str(case / "etc-nginx"), "--format", "json")
    assert code == 0, out
    assert {c["check_id"]: c["status"] for c in json.loads(out)["checks"] if c["check_id"].startswith("NGX")} == {
        f"NGX-00{n}": "passed" for n in range(1, 6)
    }


def zone_args(url: str) -> tuple[str, ...]:
    return (
        *("--cloudflare", "--zone", "example.com", "--site", "https://app.example.com"),
        *("--set", f"cloudflare.api_base_url={url}"),
    )


def test_cloudflare_through_the_sdk(tmp_path: Path) -> None:
    with zone_api("challenge-rule") as (api, url):
        code, out = audit(tmp_path, *zone_args(url), env={"CLOUDFLARE_API_TOKEN": "cf-secret-token"})
    assert code == 1, out
    assert "FAILED   CF-002" in out
    assert "cf-secret-token" not in out
    assert {method for method, _ in api.requests} == {"GET"}


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--nginx", str(FIXTURES / "nginx" / "syntax-error.conf")], "not valid nginx syntax"),
        (["--nginx", str(CORPUS / "35-ingress-manifest-given-as-nginx" / "ingress.yaml")], "not an nginx conf"),
        (["--k8s", str(CORPUS / "52-compose-without-realtime-variables" / "docker-compose.yml")], "sets none of"),
        (["--k8s", str(FIXTURES / "env" / "invalid.yaml")], "is not valid YAML"),
        (["--env-file", "/nonexistent/.env"], "/nonexistent/.env does not exist"),
        (["--nginx", "/root"], "/root is not a file"),
        ([], "nothing to audit"),
        (
            ["--cloudflare", "--zone", "example.com", "--site", "https://app.example.com"],
            "$CLOUDFLARE_API_TOKEN, which is not set",
        ),
    ],
)
def test_malformed_input_is_one_line_and_exit_2(tmp_path: Path, args: list[str], line: str) -> None:
    code, out = audit(tmp_path, *args, env={"CLOUDFLARE_API_TOKEN": ""})
    assert code == 2, out
    assert line in out
    assert "Traceback" not in out


def test_an_invalid_profile_is_exit_2(tmp_path: Path) -> None:
    profile = tmp_path / "bad.toml"
    profile.write_text("[config_files\nnginx = 1")
    code, out = audit(tmp_path, "--target", str(profile))
    assert code == 2
    assert "is not valid TOML" in out


@pytest.mark.parametrize(
    ("scenario", "status", "line"),
    [
        ("healthy-zone", 401, "HTTP 401: Authentication error"),
        ("healthy-zone", 403, "HTTP 403: Authentication error"),
        ("unknown-zone", None, "no zone named 'example.com'"),
    ],
)
def test_api_refusals_are_exit_2(tmp_path: Path, scenario: str, status: int | None, line: str) -> None:
    with zone_api(scenario, status) as (_, url):
        code, out = audit(tmp_path, *zone_args(url), env={"CLOUDFLARE_API_TOKEN": "tok-abc-123"})
    assert code == 2, out
    assert line in out
    assert "Traceback" not in out
    assert "tok-abc-123" not in out
