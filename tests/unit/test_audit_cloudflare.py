"""CF-*: through the official SDK, over real HTTP, against responses shaped like Cloudflare's."""

from __future__ import annotations

import pytest

from realtime_verify.checks.audit import AuditResult
from realtime_verify.checks.cloudflare import audit_cloudflare
from realtime_verify.errors import UsageError
from tests.fixtures.cloudflare_api import FakeCloudflare, fake_cloudflare


def audit(api: FakeCloudflare, zone_name: str = "example.com", zone_id: str | None = None) -> dict[str, AuditResult]:
    results = audit_cloudflare(
        token="test-token-123",
        token_env="CLOUDFLARE_API_TOKEN",
        zone_id=zone_id,
        zone_name=zone_name,
        site_host="app.example.com",
        socket_path="/socket.io/",
        base_url=api.url,
    )
    return {r.check_id: r for r in results}


def statuses(results: dict[str, AuditResult]) -> dict[str, str]:
    return {check: r.status for check, r in results.items() if r.status != "passed"}


@pytest.mark.parametrize(
    ("scenario", "expected", "words"),
    [
        ("healthy-zone", {}, ""),
        ("skip-then-challenge", {}, ""),
        ("challenge-rule", {"CF-002": "failed"}, "managed_challenge to the socket path"),
        ("rate-limit-socket", {"CF-002": "failed"}, "would rate-limit the socket path"),
        ("unknown-expression", {"CF-002": "review"}, "cf.bot_management.score lt 30"),
        ("websockets-off", {"CF-001": "failed"}, "WebSockets are 'off'"),
        ("bic-on-socket", {"CF-003": "failed"}, "Browser Integrity Check is on"),
        ("cache-rule", {"CF-005": "failed"}, "eligible for cache"),
        ("page-rule-cache-everything", {"CF-005": "failed"}, "cache_level cache_everything"),
        ("bot-fight-mode", {"CF-004": "warning"}, "cannot be skipped per path"),
        ("argo-on", {"CF-006": "warning"}, "does not apply to WebSocket"),
        ("no-bot-permission", {"CF-004": "review"}, "could not be read (HTTP 403"),
    ],
)
def test_zone_scenarios(scenario: str, expected: dict[str, str], words: str) -> None:
    with fake_cloudflare(scenario) as api:
        results = audit(api)
    assert statuses(results) == expected
    text = " ".join(f"{f.where} {f.found}" for r in results.values() for f in r.findings)
    assert words in text


def test_the_audit_never_sends_anything_but_get() -> None:
    for scenario in ("healthy-zone", "challenge-rule", "no-bot-permission"):
        with fake_cloudflare(scenario) as api:
            audit(api)
        assert api.requests
        assert {method for method, _ in api.requests} == {"GET"}, api.requests


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_token_is_one_clear_usage_error(status: int) -> None:
    with fake_cloudflare(status_override=status) as api, pytest.raises(UsageError) as raised:
        audit(api)
    message = str(raised.value)
    assert f"HTTP {status}: Authentication error" in message
    assert "Zone Read" in message
    assert "test-token-123" not in message


def test_an_unknown_zone_is_a_usage_error() -> None:
    with fake_cloudflare("unknown-zone") as api, pytest.raises(UsageError, match=r"no zone named 'example\.com'"):
        audit(api)
    with fake_cloudflare() as api, pytest.raises(UsageError, match="HTTP 404"):
        audit(api, zone_name="", zone_id="ffffffffffffffffffffffffffffffff")
