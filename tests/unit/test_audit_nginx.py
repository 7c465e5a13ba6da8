"""NGX-*: real-world mistakes in the nginx conf, each failing the right check at file:line."""

from __future__ import annotations

from pathlib import Path

import pytest

from realtime_verify.checks.audit import AuditResult
from realtime_verify.checks.nginx import audit_nginx
from realtime_verify.errors import UsageError
from realtime_verify.supervisor import reference_app_dir

NGINX = Path(__file__).resolve().parents[1] / "fixtures" / "nginx"


def audit(path: Path, ping: float = 45) -> dict[str, AuditResult]:
    return {r.check_id: r for r in audit_nginx(path, "/socket.io/", ping, "test")}


def failed(results: dict[str, AuditResult]) -> set[str]:
    return {check for check, result in results.items() if result.status == "failed"}


def test_the_reference_conf_passes() -> None:
    results = audit(reference_app_dir() / "deploy" / "nginx.prod.conf")
    assert failed(results) == set()
    assert all(r.status == "passed" for r in results.values())


def test_includes_are_followed_and_a_prefix_location_beats_a_regex() -> None:
    results = audit(NGINX / "include" / "nginx.conf")
    assert failed(results) == set(), [f for r in results.values() for f in r.findings]
    assert any("conf.d/app.conf:" in c for c in results["NGX-001"].checked)


@pytest.mark.parametrize(
    ("fixture", "check", "line", "words"),
    [
        ("missing-upgrade.conf", "NGX-003", 5, "does not forward the Upgrade header"),
        ("http-1.0.conf", "NGX-002", 5, "1.0 (the default)"),
        ("inheritance-trap.conf", "NGX-003", 6, "not inherited"),
        ("host-without-port.conf", "NGX-005", 10, "Host is $host, which drops the port"),
        ("no-socket-proxy.conf", "NGX-001", 5, "covers /socket.io/ but does not proxy it"),
        ("connection-cleared.conf", "NGX-003", 9, 'Connection is "" (cleared'),
    ],
)
def test_each_mistake_fails_its_check_at_its_line(fixture: str, check: str, line: int, words: str) -> None:
    results = audit(NGINX / fixture)
    assert failed(results) == {check}, {c: r.findings for c, r in results.items() if r.findings}
    finding = results[check].findings[0]
    assert finding.where == f"{NGINX / fixture}:{line}"
    assert words in finding.found
    assert finding.fix


def test_a_60_s_read_timeout_with_a_90_s_ping_fails() -> None:
    results = audit(NGINX / "short-read-timeout.conf", ping=90 + 20)
    assert failed(results) == {"NGX-004"}
    assert (
        "proxy_read_timeout 60s is not above pingInterval + pingTimeout = 110 s" in results["NGX-004"].findings[0].found
    )
    assert results["NGX-004"].findings[0].where.endswith("short-read-timeout.conf:12")
    assert failed(audit(NGINX / "short-read-timeout.conf", ping=45)) == set()


def test_the_redirect_server_is_not_judged() -> None:
    results = audit(NGINX / "no-socket-proxy.conf")
    assert len(results["NGX-001"].checked) == 1


def test_syntax_errors_and_missing_files_are_usage_errors() -> None:
    with pytest.raises(UsageError, match=r"syntax-error.conf:\d+: not valid nginx syntax: unexpected end of file"):
        audit(NGINX / "syntax-error.conf")
    with pytest.raises(UsageError, match="does not exist"):
        audit(NGINX / "nope.conf")
