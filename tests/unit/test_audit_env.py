"""The ENV family on env sources as projects keep them: .env layers, compose, Helm values, Dockerfiles,
Kubernetes manifests and the process environment; kinds told by content; huge inputs bounded."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from realtime_verify import catalogue as c
from realtime_verify.audit.env import (
    ENABLE,
    PATH,
    URL,
    EnvSource,
    detect_kind,
    read_env_file,
    read_env_input,
    read_k8s,
    read_process_env,
)
from realtime_verify.audit.files import MAX_INPUT_BYTES
from realtime_verify.audit.run import AuditInputs, env_inputs, run_env
from realtime_verify.checks.env import judge_env
from realtime_verify.config import load_profile
from realtime_verify.errors import UsageError
from realtime_verify.outcome import CheckResult, Status
from realtime_verify.stack.supervisor import reference_app_dir

ENV = Path(__file__).resolve().parents[1] / "fixtures" / "env"
SITE = "https://app.example.com"
GOOD = f"{ENABLE}=true\n{URL}=wss://app.example.com\n{PATH}=/socket.io\n"


def audit(*sources: EnvSource, site: str | None = SITE, allowed: list[str] | None = None) -> dict[str, CheckResult]:
    results = judge_env(list(sources), site_url=site, socket_path="/socket.io/", allowed_hosts=allowed)
    return {r.check_id: r for r in results}


def run(*paths: Path, site: str = SITE, **overrides: str) -> dict[str, CheckResult]:
    """The ENV checks as `realtime-verify audit --env-file ...` runs them (no process environment)."""
    profile = load_profile(None, env={}, overrides=overrides)
    inputs = AuditInputs(env_files=list(paths), site_url=site)
    return {r.check_id: r for r in run_env(profile, inputs, process_env={})}


def statuses(results: dict[str, CheckResult]) -> dict[str, str]:
    return {k: r.status.value for k, r in results.items() if r.status is not Status.PASSED}


def review(result: CheckResult) -> bool:
    return result.status is Status.WARNING and any(f.severity == "review" for f in result.findings)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


# .env files -------------------------------------------------------------------------------------------


def test_the_reference_env_passes() -> None:
    assert statuses(audit(read_env_file(reference_app_dir() / "deploy" / "reference.env"))) == {}


def test_other_variables_are_never_read() -> None:
    source = read_env_file(ENV / "good.env")
    assert set(source.values) == {ENABLE, URL, PATH}
    assert source.values[URL].where == f"{ENV / 'good.env'}:3"
    assert "never-printed" not in str([r.to_dict() for r in audit(source).values()])


@pytest.mark.parametrize(
    ("fixture", "checks", "words"),
    [
        ("disabled.env", {c.ENV_001}, "is 'false', not 'true'"),
        ("ws-on-https.env", {c.ENV_002}, "on an https site: browsers block it as mixed content"),
        ("path-mismatch.env", {c.ENV_002}, "the socket is served at /socket.io/"),
        ("other-host.env", {c.ENV_001, c.ENV_002, c.ENV_003}, "points at 'legacy-rt.example.net'"),
    ],
)
def test_env_file_mistakes(fixture: str, checks: set[c.Check], words: str) -> None:
    results = audit(read_env_file(ENV / fixture))
    assert {k for k, r in results.items() if r.status is Status.FAILED} == {check.id for check in checks}
    found = [f.found for r in results.values() for f in r.findings]
    assert any(words in text for text in found), found
    assert any("inlined at build time" in f.fix for r in results.values() for f in r.findings)


def test_dotenv_as_nextjs_reads_it(tmp_path: Path) -> None:
    env = write(
        tmp_path,
        ".env.production",
        "HOST=app.example.com\nexport FLAG=true\n"
        f"{ENABLE}=${{FLAG}} # inline comment\n{URL}=\"wss://$HOST/\"\n{PATH}='/socket.io'\n",
    )
    source = read_env_file(env)
    assert {name: value.value for name, value in source.values.items()} == {
        ENABLE: "true",
        URL: "wss://app.example.com/",
        PATH: "/socket.io",
    }
    assert statuses(audit(source)) == {}


def test_a_reference_no_given_file_sets_is_unknown(tmp_path: Path) -> None:
    env = write(tmp_path, ".env", f"{ENABLE}=true\n{URL}=wss://${{PUBLIC_HOST}}\n")
    results = audit(read_env_file(env))
    assert review(results[c.ENV_002.id])
    assert "$PUBLIC_HOST" in results[c.ENV_002.id].message


def test_env_local_wins_over_env_production_for_next_build(tmp_path: Path) -> None:
    production = write(tmp_path, ".env.production", GOOD)
    local = write(tmp_path, ".env.local", f"{URL}=ws://localhost:8000\n")
    results = run(production, local)
    assert statuses(results) == {c.ENV_002.id: "failed", c.ENV_003.id: "failed"}
    assert ".env.local:1" in results[c.ENV_002.id].message
    # The other way round, the production value wins; the disagreement is still named.
    write(tmp_path, ".env.local", GOOD)
    write(tmp_path, ".env.production", f"{URL}=ws://localhost:8000\n")
    assert statuses(run(production, local)) == {c.ENV_003.id: "failed"}


# docker-compose ---------------------------------------------------------------------------------------


def test_compose_environment_list_and_map_and_build_args(tmp_path: Path) -> None:
    compose = write(
        tmp_path,
        "docker-compose.yml",
        "services:\n  web:\n    build:\n      context: .\n      args:\n"
        f"        - {ENABLE}=true\n        - {URL}=wss://app.example.com\n"
        f"    environment:\n      {ENABLE}: 'true'\n      {PATH}: /socket.io\n      DB_PASSWORD: s3cret\n",
    )
    found = read_env_input(compose)
    assert found.kind == "compose"
    assert {s.label.split("(")[1] for s in found.sources if s.values} == {
        "service web, build.args)",
        "service web, environment)",
    }
    results = run(compose)
    assert statuses(results) == {}
    assert "s3cret" not in str([r.to_dict() for r in results.values()])


def test_compose_environment_overrides_env_file_and_interpolates_from_dotenv(tmp_path: Path) -> None:
    write(tmp_path, ".env", "PUBLIC_HOST=app.example.com\n")
    write(tmp_path, "web.env", GOOD.replace("wss://app.example.com", "wss://old.example.com"))
    compose = write(
        tmp_path,
        "compose.yaml",
        "services:\n  web:\n    env_file:\n      - ./web.env\n      - path: ./optional.env\n        required: false\n"
        f"    environment:\n      {URL}: wss://${{PUBLIC_HOST}}\n      {PATH}: ${{WS_PATH:-/socket.io}}\n",
    )
    sources = read_env_input(compose).sources
    environment = next(s for s in sources if "environment" in s.label)
    assert environment.values[URL].value == "wss://app.example.com"
    assert environment.values[PATH].value == "/socket.io"
    results = run(compose)
    # The environment wins (ENV-002 passes on it); the old value in web.env still disagrees.
    assert statuses(results) == {c.ENV_003.id: "failed"}
    assert "old.example.com" in results[c.ENV_003.id].message


def test_compose_values_from_the_shell_are_unknown(tmp_path: Path) -> None:
    compose = write(
        tmp_path, "docker-compose.yml", f"services:\n  web:\n    environment:\n      - {ENABLE}=true\n      - {URL}\n"
    )
    assert review(run(compose)[c.ENV_002.id])


def test_a_missing_env_file_is_review(tmp_path: Path) -> None:
    compose = write(
        tmp_path,
        "compose.yaml",
        f"services:\n  web:\n    env_file: web.env\n    environment:\n      {ENABLE}: 'true'\n",
    )
    results = run(compose)
    assert all(review(r) for r in results.values())
    assert "env_file web.env" in results[c.ENV_001.id].message


# Helm values, Dockerfiles, Kubernetes ------------------------------------------------------------------


def test_helm_values_with_plain_keys(tmp_path: Path) -> None:
    values = write(
        tmp_path,
        "values.yaml",
        f"web:\n  env:\n    {ENABLE}: 'true'\n    {URL}: wss://app.example.com/api\napi:\n  env:\n    - name: {PATH}\n"
        "      value: /socket.io\n",
    )
    found = read_env_input(values)
    assert found.kind == "values"
    results = run(values)
    assert statuses(results) == {c.ENV_002.id: "failed"}
    assert "values.yaml:4 (web.env." in results[c.ENV_002.id].message


def test_dockerfile_args_and_envs_per_stage(tmp_path: Path) -> None:
    dockerfile = write(
        tmp_path,
        "web.Dockerfile",
        f"ARG BASE=node:20\nFROM $BASE AS builder\nARG {ENABLE}=true\nARG {URL}\n"
        f"ENV {ENABLE}=${{{ENABLE}}} \\\n    {URL}=${{{URL}}} \\\n    {PATH}=/socket.io\nRUN npm run build\n"
        f"FROM node:20 AS runner\nENV NODE_ENV=production\n",
    )
    found = read_env_input(dockerfile)
    assert found.kind == "dockerfile"
    [builder] = found.sources
    assert builder.label.endswith("(stage builder)")
    assert builder.values[ENABLE].value == "true"
    assert builder.values[URL].value is None
    assert "--build-arg" in builder.values[URL].unknown
    results = run(dockerfile)
    assert statuses(results) == {c.ENV_002.id: "warning"}
    assert review(results[c.ENV_002.id])


def test_a_dockerfile_is_told_by_its_content_and_never_read_as_dotenv(tmp_path: Path) -> None:
    text = f"# syntax=docker/dockerfile:1\nFROM node:20\nENV {ENABLE}=1 {URL}=wss://app.example.com\n"
    assert detect_kind(tmp_path / "build-recipe", text) == "dockerfile"
    assert detect_kind(tmp_path / ".env", f"{ENABLE}=true\n") == "dotenv"
    assert statuses(run(write(tmp_path, "build-recipe", text))) == {c.ENV_001.id: "failed"}


def test_a_base64_secret_that_decodes_to_false_is_named() -> None:
    sources = [read_env_file(ENV / "good.env"), *read_k8s(ENV / "secret-wrong-value.yaml")]
    results = audit(*sources)
    # One problem, one check: ENABLE's wrong value is ENV-001's, not also a disagreement.
    assert statuses(results) == {c.ENV_001.id: "failed"}
    finding = results[c.ENV_001.id].findings[0]
    assert "secret-wrong-value.yaml:8 (Secret web-public-env, data.NEXT_PUBLIC_ENABLE_WEBSOCKETS) decoded" in (
        finding.where
    )
    assert "DATABASE_PASSWORD" not in str([r.to_dict() for r in results.values()])


def test_sources_that_disagree_are_listed_with_their_places() -> None:
    sources = [read_env_file(ENV / "good.env"), *read_k8s(ENV / "configmap-disagrees.yaml")]
    results = audit(*sources)
    assert statuses(results) == {c.ENV_003.id: "failed"}
    text = results[c.ENV_003.id].findings[0].found
    assert "'wss://app.example.com:8443' at" in text
    assert "configmap-disagrees.yaml:7 (ConfigMap web-config, data.NEXT_PUBLIC_WEBSOCKET_URL)" in text
    assert "(Deployment web, container web, env NEXT_PUBLIC_WEBSOCKET_URL)" in text


def test_k8s_value_from_is_resolved_in_the_manifest_or_unknown(tmp_path: Path) -> None:
    url = base64.b64encode(b"wss://app.example.com").decode()
    manifest = write(
        tmp_path,
        "k8s.yaml",
        f"apiVersion: v1\nkind: Secret\nmetadata:\n  name: pub\ndata:\n  wsUrl: {url}\n---\n"
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  template:\n    spec:\n"
        "      containers:\n        - name: web\n          env:\n"
        f"            - name: {URL}\n              valueFrom:\n"
        "                secretKeyRef: {name: pub, key: wsUrl}\n"
        f"            - name: {ENABLE}\n              valueFrom:\n"
        "                configMapKeyRef: {name: gone, key: x}\n",
    )
    [container] = [s for s in read_k8s(manifest) if "container" in s.label]
    assert container.values[URL].value == "wss://app.example.com"
    assert container.values[ENABLE].value is None
    assert review(run(manifest)[c.ENV_001.id])


def test_a_secret_value_that_is_not_base64() -> None:
    results = audit(*read_k8s(ENV / "secret-not-base64.yaml"))
    assert "is not valid base64" in results[c.ENV_003.id].findings[0].found


def test_the_process_environment_is_a_source() -> None:
    env = {ENABLE: "true", URL: "http://app.example.com", "HOME": "/root"}
    results = audit(read_process_env(env))
    assert statuses(results) == {c.ENV_002.id: "failed"}
    assert results[c.ENV_002.id].findings[0].where == f"process environment ${URL}"


# Inputs that yield nothing, and the kind of an input ---------------------------------------------------


def test_a_compose_file_given_as_k8s_is_read_as_compose(tmp_path: Path) -> None:
    compose = write(tmp_path, "docker-compose.yml", f"services:\n  web:\n    environment:\n      - {ENABLE}=true\n")
    profile = load_profile(None, env={})
    results = run_env(profile, AuditInputs(k8s=[compose], site_url=SITE), process_env={})
    assert {r.check_id: r.status for r in results}[c.ENV_001.id] is Status.PASSED


def test_an_input_that_yields_nothing(tmp_path: Path) -> None:
    empty = write(tmp_path, "docker-compose.yml", "services:\n  web:\n    environment:\n      - NODE_ENV=production\n")
    with pytest.raises(UsageError) as raised:
        run(empty)
    message = str(raised.value)
    assert "docker-compose.yml (read as a docker-compose file) sets none of NEXT_PUBLIC_ENABLE_WEBSOCKETS" in message
    assert "\n" not in message
    good = write(tmp_path, ".env.production", GOOD)
    read = env_inputs(AuditInputs(env_files=[good, empty]))
    assert any("sets none of the real-time variables" in note for one in read for note in one.notes)
    assert any("sets none" in line for line in run(good, empty)[c.ENV_001.id].checked)


def test_nothing_configured_skips_with_the_reason() -> None:
    assert {r.status for r in audit(read_process_env({})).values()} == {Status.SKIPPED}
    profile = load_profile(None, env={})
    assert {r.status for r in run_env(profile, AuditInputs(), process_env={})} == {Status.SKIPPED}


def test_invalid_yaml_and_missing_files_are_usage_errors() -> None:
    with pytest.raises(UsageError, match=r"invalid.yaml is not valid YAML: .* \(line 5\)"):
        read_k8s(ENV / "invalid.yaml")
    with pytest.raises(UsageError, match="does not exist"):
        read_env_file(ENV / "nope.env")


# 6. Smaller: optional PATH, a variable missing from one source, allowed hosts from --set ---------------


def test_path_is_optional_and_a_variable_missing_from_one_source_is_no_finding(tmp_path: Path) -> None:
    env = write(tmp_path, ".env.production", f"{ENABLE}=true\n{URL}=wss://app.example.com\n")
    manifest = write(
        tmp_path, "k8s.yaml", f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: web\ndata:\n  {ENABLE}: 'true'\n"
    )
    results = run(env, manifest)
    assert statuses(results) == {}
    assert results[c.ENV_003.id].findings == []


def test_a_url_set_nowhere_is_a_warning_of_env_003_only(tmp_path: Path) -> None:
    results = run(write(tmp_path, ".env.production", f"{ENABLE}=true\n"))
    assert statuses(results) == {c.ENV_003.id: "warning"}


def test_allowed_hosts_from_set_is_a_list(tmp_path: Path) -> None:
    env = write(tmp_path, ".env.production", GOOD.replace("wss://app.example.com", "wss://rt.example.com"))
    assert statuses(run(env))[c.ENV_002.id] == "failed"
    profile = load_profile(None, env={}, overrides={"config_files.allowed_hosts": '["rt.example.com"]'})
    assert profile.config_files.allowed_hosts == ["rt.example.com"]
    assert statuses(run(env, **{"config_files.allowed_hosts": '["rt.example.com"]'})) == {}


# Large inputs -----------------------------------------------------------------------------------------


def test_an_input_over_the_limit_is_refused_at_once(tmp_path: Path) -> None:
    huge = tmp_path / ".env"
    with huge.open("wb") as handle:
        handle.truncate(MAX_INPUT_BYTES + 1)
    with pytest.raises(UsageError, match=r"\.env is 16\.8 MB: too large for an env source"):
        run(huge)


def test_a_large_env_file_is_read_in_linear_time_and_values_are_cut(tmp_path: Path) -> None:
    filler = "".join(f"VAR_{i}=value_{i}_{'x' * 40} # comment\n" for i in range(150_000))
    env = write(tmp_path, ".env.production", filler + f"{ENABLE}=true\n{URL}=ws://{'a' * 200_000}.example.com\n")
    results = run(env)  # its speed: bench/audit.py
    assert results[c.ENV_002.id].status is Status.FAILED
    assert len(results[c.ENV_002.id].message) < 2_000
    assert "... (200017 characters)" in results[c.ENV_002.id].message  # ws://aaa...example.com, cut when shown
