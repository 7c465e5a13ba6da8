"""The CF family: through the official SDK, over real HTTP, against the stack's fake zone API
(`realtime_verify.stack.zone`, scenarios in stack/zones/*.json)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from realtime_verify import catalogue as c
from realtime_verify.audit.cloudflare import read_zone
from realtime_verify.checks.cloudflare import judge_zone
from realtime_verify.errors import UsageError
from realtime_verify.outcome import CheckResult, Status
from realtime_verify.stack.zone import BASE_SCENARIO, ZoneApi, serve_zone_api


@contextmanager
def zone_api(scenario: str = BASE_SCENARIO, status: int | None = None) -> Iterator[tuple[ZoneApi, str]]:
    api = ZoneApi(overlays=[] if scenario == BASE_SCENARIO else [scenario], status_override=status)
    with serve_zone_api(api) as url:
        yield api, url


def audit(url: str, zone_name: str = "example.com", zone_id: str | None = None) -> dict[str, CheckResult]:
    zone = read_zone(
        token="test-token-123", token_env="CLOUDFLARE_API_TOKEN", zone_id=zone_id, zone_name=zone_name, base_url=url
    )
    return {r.check_id: r for r in judge_zone(zone, "app.example.com", "/socket.io/")}


def verdicts(results: dict[str, CheckResult]) -> dict[str, str]:
    """Non-passed results; a warning made only of review findings reads "review"."""
    out = {}
    for check, result in results.items():
        if result.status is Status.PASSED:
            continue
        severities = {f.severity for f in result.findings}
        review = result.status is Status.WARNING and severities == {"review"}
        out[check] = "review" if review else result.status.value
    return out


@pytest.mark.parametrize(
    ("scenario", "expected", "words"),
    [
        ("healthy-zone", {}, ""),
        ("skip-then-challenge", {}, ""),
        ("challenge-rule", {c.CF_002: "failed"}, "managed_challenge to the socket path"),
        ("rate-limit-socket", {c.CF_002: "failed"}, "would rate-limit the socket path"),
        ("unknown-expression", {c.CF_002: "review"}, "cf.bot_management.score lt 30"),
        ("websockets-off", {c.CF_001: "failed"}, "WebSockets are 'off'"),
        ("bic-on-socket", {c.CF_003: "failed"}, "Browser Integrity Check is on"),
        ("cache-rule", {c.CF_005: "failed"}, "eligible for cache"),
        ("page-rule-cache-everything", {c.CF_005: "failed"}, "cache_level cache_everything"),
        ("bot-fight-mode", {c.CF_004: "warning"}, "cannot be skipped per path"),
        ("argo-on", {c.CF_006: "warning"}, "does not apply to WebSocket"),
        ("no-bot-permission", {c.CF_004: "review"}, "could not be read (HTTP 403"),
    ],
)
def test_zone_scenarios(scenario: str, expected: dict[c.Check, str], words: str) -> None:
    with zone_api(scenario) as (_, url):
        results = audit(url)
    assert verdicts(results) == {check.id: status for check, status in expected.items()}
    text = " ".join(f"{f.where} {f.found}" for r in results.values() for f in r.findings)
    assert words in text


def test_the_audit_never_sends_anything_but_get() -> None:
    for scenario in ("healthy-zone", "challenge-rule", "no-bot-permission"):
        with zone_api(scenario) as (api, url):
            audit(url)
        assert api.requests
        assert {method for method, _ in api.requests} == {"GET"}, api.requests


@pytest.mark.parametrize("status", [401, 403])
def test_a_refused_token_is_one_clear_usage_error(status: int) -> None:
    with zone_api(status=status) as (_, url), pytest.raises(UsageError) as raised:
        audit(url)
    message = str(raised.value)
    assert f"HTTP {status}: Authentication error" in message
    assert "Zone Read" in message
    assert "test-token-123" not in message


def test_an_unknown_zone_is_a_usage_error() -> None:
    with zone_api("unknown-zone") as (_, url), pytest.raises(UsageError, match=r"no zone named 'example\.com'"):
        audit(url)
    with zone_api() as (_, url), pytest.raises(UsageError, match="HTTP 404"):
        audit(url, zone_name="", zone_id="ffffffffffffffffffffffffffffffff")
