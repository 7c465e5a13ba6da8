"""ENV-*: .env files, the process environment and Kubernetes manifests."""

from __future__ import annotations

from pathlib import Path

import pytest

from realtime_verify.checks.audit import AuditResult
from realtime_verify.checks.env import EnvSource, audit_env, read_env_file, read_k8s, read_process_env
from realtime_verify.errors import UsageError
from realtime_verify.supervisor import reference_app_dir

ENV = Path(__file__).resolve().parents[1] / "fixtures" / "env"
SITE = "https://app.example.com"


def audit(*sources: EnvSource, site: str | None = SITE) -> dict[str, AuditResult]:
    return {r.check_id: r for r in audit_env(list(sources), site_url=site, socket_path="/socket.io/")}


def failed(results: dict[str, AuditResult]) -> set[str]:
    return {check for check, result in results.items() if result.status == "failed"}


def test_the_reference_env_passes() -> None:
    results = audit(read_env_file(reference_app_dir() / "deploy" / "reference.env"), site="https://app.example.com")
    assert failed(results) == set()


def test_other_variables_are_never_read() -> None:
    source = read_env_file(ENV / "good.env")
    assert set(source.values) == {
        "NEXT_PUBLIC_ENABLE_WEBSOCKETS",
        "NEXT_PUBLIC_WEBSOCKET_URL",
        "NEXT_PUBLIC_WEBSOCKET_PATH",
    }
    assert source.values["NEXT_PUBLIC_WEBSOCKET_URL"].where == f"{ENV / 'good.env'}:3"


@pytest.mark.parametrize(
    ("fixture", "checks", "words"),
    [
        ("disabled.env", {"ENV-001"}, "is 'false', not 'true'"),
        ("ws-on-https.env", {"ENV-002"}, "on an https site: browsers block it as mixed content"),
        ("path-mismatch.env", {"ENV-002"}, "the socket is served at /socket.io/"),
        ("other-host.env", {"ENV-001", "ENV-002", "ENV-003"}, "points at legacy-rt.example.net"),
    ],
)
def test_env_file_mistakes(fixture: str, checks: set[str], words: str) -> None:
    results = audit(read_env_file(ENV / fixture))
    assert failed(results) == checks
    found = [f.found for r in results.values() for f in r.findings]
    assert any(words in text for text in found), found
    assert any("inlined at build time" in f.fix for r in results.values() for f in r.findings)


def test_a_base64_secret_that_decodes_to_false_is_named() -> None:
    sources = [read_env_file(ENV / "good.env"), *read_k8s(ENV / "secret-wrong-value.yaml")]
    results = audit(*sources)
    assert failed(results) == {"ENV-001", "ENV-003"}
    finding = results["ENV-001"].findings[0]
    assert (
        "secret-wrong-value.yaml:8 (Secret web-public-env, data.NEXT_PUBLIC_ENABLE_WEBSOCKETS) decoded from base64"
        in finding.where
    )
    assert "DATABASE_PASSWORD" not in str([r.to_dict() for r in results.values()])


def test_sources_that_disagree_are_listed_with_their_places() -> None:
    sources = [read_env_file(ENV / "good.env"), *read_k8s(ENV / "configmap-disagrees.yaml")]
    results = audit(*sources)
    assert failed(results) == {"ENV-003"}
    text = next(f.found for f in results["ENV-003"].findings if f.severity == "error")
    assert "'wss://app.example.com:8443' at" in text
    assert "configmap-disagrees.yaml:7 (ConfigMap web-config, data.NEXT_PUBLIC_WEBSOCKET_URL)" in text
    assert "(Deployment web, container web, env NEXT_PUBLIC_WEBSOCKET_URL)" in text


def test_a_secret_value_that_is_not_base64() -> None:
    results = audit(*read_k8s(ENV / "secret-not-base64.yaml"))
    assert "is not valid base64" in results["ENV-003"].findings[0].found


def test_the_process_environment_is_a_source() -> None:
    env = {
        "NEXT_PUBLIC_ENABLE_WEBSOCKETS": "true",
        "NEXT_PUBLIC_WEBSOCKET_URL": "http://app.example.com",
        "HOME": "/root",
    }
    results = audit(read_process_env(env))
    assert failed(results) == {"ENV-002"}
    assert results["ENV-002"].findings[0].where == "process environment $NEXT_PUBLIC_WEBSOCKET_URL"


def test_nothing_configured_skips_with_the_reason() -> None:
    results = audit(read_process_env({}))
    assert {r.status for r in results.values()} == {"skipped"}


def test_invalid_yaml_and_missing_files_are_usage_errors() -> None:
    with pytest.raises(UsageError, match=r"invalid.yaml is not valid YAML: .* \(line 5\)"):
        read_k8s(ENV / "invalid.yaml")
    with pytest.raises(UsageError, match="does not exist"):
        read_env_file(ENV / "nope.env")
