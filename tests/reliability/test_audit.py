"""`realtime-verify audit` on files it cannot use and on a Cloudflare API that misbehaves: exit 2 in one
line naming the file (or the API) and what is wrong, in bounded time; never the real Cloudflare API."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

from realtime_verify.stack.zone import FIXTURE_ZONE_ID, ZoneApi, serve_zone_api
from tests.reliability.conftest import CF_TOKEN, assert_case, realtime_verify, write

StartServer = Callable[..., str]
SITE = ("--site", "https://app.example.com", "--offline")
GOOD_ENV = "NEXT_PUBLIC_ENABLE_WEBSOCKETS=true\nNEXT_PUBLIC_WEBSOCKET_URL=wss://app.example.com\n"
# PyYAML without libyaml (a platform without its wheel, or a source build): the pure-Python loader.
WITHOUT_LIBYAML = [
    sys.executable,
    "-c",
    "import sys, yaml; del yaml.CSafeLoader; from realtime_verify.cli import main; sys.exit(main())",
]


def test_an_env_file_that_does_not_exist(tmp_path: Path) -> None:
    result = realtime_verify(tmp_path, "audit", "--env-file", ".env.production", *SITE)
    assert_case(result, 2, ".env.production does not exist", only_line=True)


def test_a_folder_instead_of_a_file(tmp_path: Path) -> None:
    (tmp_path / "nginx").mkdir()
    result = realtime_verify(tmp_path, "audit", "--nginx", "nginx", *SITE)
    assert_case(result, 2, "nginx is not a file", only_line=True)


def test_profile_paths_are_named_from_the_profile_folder(tmp_path: Path) -> None:
    profile = write(tmp_path / "deploy" / "target.toml", '[config_files]\nenv = [".env.production"]\n')
    result = realtime_verify(tmp_path, "audit", "--target", str(profile), *SITE)
    assert_case(result, 2, f"{tmp_path / 'deploy' / '.env.production'} does not exist", only_line=True)


def test_nothing_to_audit(tmp_path: Path) -> None:
    result = realtime_verify(tmp_path, "audit", *SITE)
    assert_case(result, 2, "nothing to audit: give --env-file, --k8s, --nginx or --cloudflare", only_line=True)


def test_an_nginx_syntax_error(tmp_path: Path) -> None:
    write(tmp_path / "site.conf", "server {\n  location /socket.io/ {\n    proxy_pass http://app\n  }\n}\n")
    result = realtime_verify(tmp_path, "audit", "--nginx", "site.conf", *SITE)
    assert_case(result, 2, 'site.conf:4: not valid nginx syntax (nginx -t): unexpected "}"', only_line=True)


def test_an_nginx_include_cycle(tmp_path: Path) -> None:
    write(tmp_path / "nginx.conf", "http { include sites.conf; }\n")
    write(tmp_path / "sites.conf", "include nginx.conf;\n")
    result = realtime_verify(tmp_path, "audit", "--nginx", "nginx.conf", "--nginx-root", ".", *SITE)
    assert_case(result, 2, "include cycle at sites.conf:1", only_line=True)
    assert "nginx would never finish reading it" in result.output


def test_a_yaml_syntax_error(tmp_path: Path) -> None:
    write(tmp_path / "deploy.yaml", "env: [\n  NEXT_PUBLIC_ENABLE_WEBSOCKETS: {\n")
    result = realtime_verify(tmp_path, "audit", "--k8s", "deploy.yaml", *SITE)
    assert_case(result, 2, "deploy.yaml is not valid YAML", only_line=True)


def test_a_50_mb_env_file(tmp_path: Path) -> None:
    write(tmp_path / ".env", GOOD_ENV + "BUNDLE=" + "x" * 50_000_000 + "\n")
    result = realtime_verify(tmp_path, "audit", "--env-file", ".env", *SITE)
    line = ".env is 50.0 MB: too large for an env source (the audit reads files up to 16 MiB"
    assert_case(result, 2, line, only_line=True, max_s=60)


def test_a_15_mb_value_is_not_echoed_whole(tmp_path: Path) -> None:
    write(tmp_path / ".env", GOOD_ENV.replace("app.example.com", "app.example.com/" + "y" * 15_000_000))
    result = realtime_verify(tmp_path, "audit", "--env-file", ".env", *SITE)
    assert_case(result, 1, "NEXT_PUBLIC_WEBSOCKET_URL has the path", max_s=60)
    report = result.folder / "audit.json"
    assert report.stat().st_size < 1_000_000, f"audit.json is {report.stat().st_size / 1e6:.1f} MB"


def _deep_yaml(tmp_path: Path) -> Path:
    nested = "{a: " * 5000 + "1" + "}" * 5000
    return write(tmp_path / "values.yaml", f"env:\n  NEXT_PUBLIC_ENABLE_WEBSOCKETS: {nested}\n")


def test_yaml_nested_5000_deep(tmp_path: Path) -> None:
    _deep_yaml(tmp_path)
    result = realtime_verify(tmp_path, "audit", "--k8s", "values.yaml", *SITE)
    assert_case(result, 2, "values.yaml is not valid YAML", only_line=True, max_s=60)


def test_yaml_nested_5000_deep_without_libyaml(tmp_path: Path) -> None:
    _deep_yaml(tmp_path)
    result = realtime_verify(tmp_path, "audit", "--k8s", "values.yaml", *SITE, launcher=WITHOUT_LIBYAML)
    assert_case(result, 2, "values.yaml", only_line=True, max_s=60)


def test_a_compose_file_alone_without_the_variables(tmp_path: Path) -> None:
    write(tmp_path / "docker-compose.yml", "services:\n  web:\n    image: shop/web:1.4\n    ports: ['80:80']\n")
    result = realtime_verify(tmp_path, "audit", "--k8s", "docker-compose.yml", *SITE)
    line = "docker-compose.yml (read as a docker-compose file) sets none of NEXT_PUBLIC_ENABLE_WEBSOCKETS"
    assert_case(result, 2, line, only_line=True)


# The Cloudflare zone, from local servers only ------------------------------------------------------


def cloudflare_profile(tmp_path: Path, api_base_url: str) -> Path:
    text = f'[cloudflare]\nzone_id = "{FIXTURE_ZONE_ID}"\napi_base_url = "{api_base_url}"\n'
    return write(tmp_path / "target.toml", text)


def test_a_cloudflare_api_answering_html(tmp_path: Path, server: StartServer) -> None:
    profile = cloudflare_profile(tmp_path, server("html-api") + "/client/v4")
    result = realtime_verify(tmp_path, "audit", "--target", str(profile), "--cloudflare", *SITE)
    assert_case(result, 2, f"zone {FIXTURE_ZONE_ID}", only_line=True)


def test_a_cloudflare_api_refusing_the_token(tmp_path: Path) -> None:
    with serve_zone_api(ZoneApi(token="a-token-that-is-not-ours")) as api:
        profile = cloudflare_profile(tmp_path, api)
        result = realtime_verify(tmp_path, "audit", "--target", str(profile), "--cloudflare", *SITE)
    line = (
        f"Cloudflare refused to read zone {FIXTURE_ZONE_ID} with the token in $CLOUDFLARE_API_TOKEN"
        " (HTTP 401: Authentication error); a read-only token needs: Zone Read"
    )
    assert_case(result, 2, line, only_line=True)


def test_a_cloudflare_api_that_never_answers(tmp_path: Path, server: StartServer) -> None:
    profile = cloudflare_profile(tmp_path, server("silent") + "/client/v4")
    result = realtime_verify(tmp_path, "audit", "--target", str(profile), "--cloudflare", *SITE)
    line = f"cannot reach the Cloudflare API to read zone {FIXTURE_ZONE_ID}: Request timed out."
    assert_case(result, 2, line, only_line=True, max_s=60)


def test_the_cloudflare_token_is_never_written(tmp_path: Path) -> None:
    """A healthy zone read with the token: audit.json and the output hold the findings, not the token."""
    with serve_zone_api(ZoneApi(token=CF_TOKEN)) as api:
        profile = cloudflare_profile(tmp_path, api)
        result = realtime_verify(tmp_path, "audit", "--target", str(profile), "--cloudflare", *SITE)
    assert_case(result, 0, "PASSED   CF-001")
    data = json.loads((result.folder / "audit.json").read_text())
    assert {check["check_id"] for check in data["checks"]} >= {"CF-001", "CF-006"}
