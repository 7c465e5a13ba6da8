"""CF-*: the Cloudflare zone in front of the app, read through the official SDK. Read-only.

Only GET endpoints are called (zones, zone settings, ruleset phase entrypoints, page rules, bot
management, Argo); the token needs read permissions only. Rule expressions are evaluated against
the requests a socket.io client makes (`checks.rules`); what cannot be evaluated is reported as
"needs review" with the expression.
"""

from __future__ import annotations

import fnmatch
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import cloudflare
from cloudflare import Cloudflare

from realtime_verify.checks.audit import AuditResult
from realtime_verify.checks.rules import SocketRequest, Tri, evaluate, socket_requests
from realtime_verify.errors import UsageError

T = TypeVar("T")
READ_PERMISSIONS = (
    "Zone Read, Zone Settings Read, Zone WAF Read, Config Rules Read, Cache Rules Read, Page Rules Read,"
    " Bot Management Read"
)
BLOCKING_ACTIONS = {"block", "challenge", "js_challenge", "managed_challenge"}
SKIP_FIX = (
    'exclude the socket path from the rule (add `and not starts_with(http.request.uri.path, "{path}")`)'
    " or put a skip rule for it first; socket.io clients cannot solve challenges, and long-polling"
    " makes a request every few seconds"
)
PHASES = {
    "custom": "http_request_firewall_custom",
    "ratelimit": "http_ratelimit",
    "sbfm": "http_request_sbfm",
    "config": "http_config_settings",
    "cache": "http_request_cache_settings",
}


@dataclass
class Zone:
    """What was read from the API, as plain data."""

    id: str
    name: str
    settings: dict[str, Any] = field(default_factory=dict)
    phases: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    page_rules: list[dict[str, Any]] = field(default_factory=list)
    bot_management: dict[str, Any] | None = None
    argo: dict[str, Any] | None = None
    unreadable: dict[str, str] = field(default_factory=dict)  # what could not be read, and why


def _plain(value: Any) -> Any:
    if hasattr(value, "to_dict"):
        return value.to_dict()
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _api_error(error: cloudflare.APIStatusError) -> str:
    body = error.body if isinstance(error.body, dict) else {}
    messages = [str(e.get("message")) for e in body.get("errors", []) if isinstance(e, dict)]
    return f"HTTP {error.status_code}" + (f": {'; '.join(messages)}" if messages else "")


class ZoneReader:
    """Reads one zone through the SDK; refusals of essential reads end the audit (exit 2)."""

    def __init__(self, client: Cloudflare, token_env: str) -> None:
        self.client = client
        self.token_env = token_env

    def _essential(self, what: str, call: Callable[[], T]) -> T:
        try:
            return call()
        except (cloudflare.AuthenticationError, cloudflare.PermissionDeniedError) as error:
            raise UsageError(
                f"Cloudflare refused to read {what} with the token in ${self.token_env} ({_api_error(error)});"
                f" a read-only token needs: {READ_PERMISSIONS}"
            ) from None
        except cloudflare.APIStatusError as error:
            raise UsageError(f"Cloudflare answered {_api_error(error)} when reading {what}") from None
        except cloudflare.APIConnectionError as error:
            raise UsageError(f"cannot reach the Cloudflare API to read {what}: {error}") from None

    def _optional(self, zone: Zone, what: str, call: Callable[[], T]) -> T | None:
        try:
            return call()
        except cloudflare.NotFoundError:
            return None
        except (cloudflare.AuthenticationError, cloudflare.PermissionDeniedError) as error:
            zone.unreadable[what] = f"{_api_error(error)}: the token lacks the read permission"
        except cloudflare.APIStatusError as error:
            zone.unreadable[what] = _api_error(error)
        except cloudflare.APIConnectionError as error:
            zone.unreadable[what] = str(error)
        return None

    def zone(self, zone_id: str | None, zone_name: str | None) -> Zone:
        if zone_id:
            found = self._essential(f"zone {zone_id}", lambda: self.client.zones.get(zone_id=zone_id))
            if found is None:
                raise UsageError(f"zone {zone_id} not found with this token")
            zone = Zone(zone_id, str(getattr(found, "name", zone_name or zone_id)))
        elif zone_name:
            # The first page only: a name matches at most one zone (iterating would page on).
            zones = self._essential(f"zone {zone_name}", lambda: self.client.zones.list(name=zone_name).result)
            if not zones:
                raise UsageError(
                    f"no zone named {zone_name!r} is visible to the token in ${self.token_env}:"
                    " check cloudflare.zone_name, or the token's zone resources"
                )
            zone = Zone(str(zones[0].id), zone_name)
        else:
            raise UsageError("name the zone: cloudflare.zone_id or cloudflare.zone_name (or --zone)")
        for setting in ("websockets", "browser_check"):
            value = self._essential(
                f"the zone setting {setting}",
                lambda s=setting: self.client.zones.settings.get(setting_id=s, zone_id=zone.id),  # type: ignore[misc]
            )
            zone.settings[setting] = _plain(value) or {}
        for key, phase in PHASES.items():
            ruleset = self._optional(
                zone,
                f"ruleset phase {phase}",
                lambda p=phase: self.client.rulesets.phases.get(ruleset_phase=p, zone_id=zone.id),  # type: ignore[misc]
            )
            zone.phases[key] = [r for r in (_plain(ruleset) or {}).get("rules", []) or [] if r.get("enabled", True)]
        rules = self._optional(zone, "page rules", lambda: self.client.page_rules.list(zone_id=zone.id))
        zone.page_rules = [r for r in _plain(rules) or [] if r.get("status", "active") == "active"]
        zone.bot_management = _plain(
            self._optional(zone, "bot management", lambda: self.client.bot_management.get(zone_id=zone.id))
        )
        zone.argo = _plain(
            self._optional(zone, "Argo Smart Routing", lambda: self.client.argo.smart_routing.get(zone_id=zone.id))
        )
        return zone


# Judging -----------------------------------------------------------------------------------------


def _rule_where(zone: Zone, phase_key: str, rule: dict[str, Any]) -> str:
    name = rule.get("description") or rule.get("id") or "?"
    return f"zone {zone.name}: {PHASES[phase_key]} rule {name!r}"


def _page_rule_matches(rule: dict[str, Any], request: SocketRequest) -> bool:
    for target in rule.get("targets", []):
        pattern = str((target.get("constraint") or {}).get("value", ""))
        url = request.url
        subject = url if "://" in pattern else url.split("://", 1)[1]
        if fnmatch.fnmatch(subject.lower(), pattern.lower()) or fnmatch.fnmatch(subject.lower(), pattern.lower() + "*"):
            return True
    return False


def _page_rule_actions(rule: dict[str, Any]) -> dict[str, Any]:
    return {str(a.get("id")): a.get("value") for a in rule.get("actions", [])}


def _skipped_phases(zone: Zone, request: SocketRequest) -> tuple[set[str], int | None, set[str]]:
    """Skip rules of the custom phase that match: (phases skipped, index where the custom ruleset
    stops for this request, products skipped such as bic)."""
    phases: set[str] = set()
    products: set[str] = set()
    for index, rule in enumerate(zone.phases.get("custom", [])):
        if rule.get("action") != "skip" or evaluate(str(rule.get("expression", "")), request) is not Tri.TRUE:
            continue
        params = rule.get("action_parameters") or {}
        phases.update(params.get("phases") or [])
        products.update(params.get("products") or [])
        if params.get("ruleset") == "current":
            return phases, index, products
    return phases, None, products


def audit_zone(zone: Zone, site_host: str, socket_path: str) -> list[AuditResult]:
    """CF-001..006 on what was read."""
    requests = socket_requests(site_host, socket_path)
    results = {
        check: AuditResult(check, checked=[f"zone {zone.name} ({zone.id})"])
        for check in ("CF-001", "CF-002", "CF-003", "CF-004", "CF-005", "CF-006")
    }
    _websockets(results["CF-001"], zone)
    _blocking_rules(results["CF-002"], zone, requests, socket_path)
    _browser_integrity(results["CF-003"], zone, requests, socket_path)
    _bot_fight_mode(results["CF-004"], zone)
    _cache_rules(results["CF-005"], zone, requests, socket_path)
    _argo(results["CF-006"], zone)
    for what, why in zone.unreadable.items():
        check = {"bot management": "CF-004", "Argo Smart Routing": "CF-006", "page rules": "CF-002"}.get(what)
        if check is None:
            check = "CF-005" if "cache" in what else "CF-003" if "config" in what else "CF-002"
        results[check].add(
            "review",
            f"zone {zone.name}: {what}",
            f"could not be read ({why})",
            f"grant the token read access ({READ_PERMISSIONS})",
        )
    return list(results.values())


def _websockets(result: AuditResult, zone: Zone) -> None:
    value = zone.settings.get("websockets", {}).get("value")
    if value != "on":
        result.add(
            "error",
            f"zone {zone.name}: setting websockets",
            f"WebSockets are {value!r}: every upgrade is refused",
            "Network → WebSockets: on (changing it is for a person with write access; this audit never writes)",
        )


def _blocking_rules(result: AuditResult, zone: Zone, requests: list[SocketRequest], socket_path: str) -> None:
    fix = SKIP_FIX.format(path=socket_path)
    seen: set[str] = set()
    for request in requests:
        skipped_phases, stop_at, _ = _skipped_phases(zone, request)
        for phase_key in ("custom", "ratelimit", "sbfm"):
            if PHASES[phase_key] in skipped_phases:
                continue
            rules = zone.phases.get(phase_key, [])
            if phase_key == "custom" and stop_at is not None:
                rules = rules[:stop_at]
            for rule in rules:
                action = str(rule.get("action", ""))
                dangerous = action in BLOCKING_ACTIONS if phase_key == "custom" else action not in ("log", "skip", "")
                if not dangerous:
                    continue
                outcome = evaluate(str(rule.get("expression", "")), request)
                key = f"{phase_key}:{rule.get('id')}:{outcome.value}"
                if outcome is Tri.FALSE or key in seen:
                    continue
                seen.add(key)
                verb = "rate-limit" if phase_key == "ratelimit" else f"apply {action} to"
                if outcome is Tri.TRUE:
                    result.add(
                        "error",
                        _rule_where(zone, phase_key, rule),
                        f"would {verb} the socket path ({request.method} {request.url}):"
                        f" expression {rule.get('expression')!r}",
                        fix,
                    )
                else:
                    result.add(
                        "review",
                        _rule_where(zone, phase_key, rule),
                        f"may {verb} the socket path; its expression cannot be evaluated here:"
                        f" {rule.get('expression')!r}",
                        f"check that it cannot match {socket_path} requests",
                    )
        for rule in zone.page_rules:
            actions = _page_rule_actions(rule)
            if (
                actions.get("security_level") == "under_attack"
                and _page_rule_matches(rule, request)
                and f"pr:{rule.get('id')}" not in seen
            ):
                seen.add(f"pr:{rule.get('id')}")
                result.add(
                    "error",
                    f"zone {zone.name}: page rule {rule.get('id')}",
                    f"'I'm Under Attack' security level on {request.url.split('?')[0]}:"
                    " every socket request is challenged",
                    fix,
                )


def _browser_integrity(result: AuditResult, zone: Zone, requests: list[SocketRequest], socket_path: str) -> None:
    zone_on = zone.settings.get("browser_check", {}).get("value") == "on"
    fix = (
        f'add a configuration rule: when starts_with(http.request.uri.path, "{socket_path}") set Browser Integrity'
        " Check off (or skip the bic product for it)"
    )
    for request in requests:
        state: Tri = Tri.of(zone_on)
        origin = f"zone {zone.name}: setting browser_check"
        for rule in zone.page_rules:
            value = _page_rule_actions(rule).get("browser_check")
            if value in ("on", "off") and _page_rule_matches(rule, request):
                state, origin = Tri.of(value == "on"), f"zone {zone.name}: page rule {rule.get('id')}"
        for rule in zone.phases.get("config", []):
            bic = (rule.get("action_parameters") or {}).get("bic")
            if bic is None:
                continue
            outcome = evaluate(str(rule.get("expression", "")), request)
            if outcome is Tri.TRUE:
                state, origin = Tri.of(bool(bic)), _rule_where(zone, "config", rule)
            elif outcome is Tri.UNKNOWN and bool(bic) != (state is Tri.TRUE):
                state, origin = Tri.UNKNOWN, _rule_where(zone, "config", rule) + f" ({rule.get('expression')!r})"
        if "bic" in _skipped_phases(zone, request)[2]:
            state = Tri.FALSE
        if state is Tri.TRUE:
            result.add(
                "error",
                origin,
                f"Browser Integrity Check is on for {request.method} {request.url.split('?')[0]}:"
                " clients without browser headers (and some proxies) get challenged",
                fix,
            )
            return
        if state is Tri.UNKNOWN:
            result.add(
                "review",
                origin,
                "whether Browser Integrity Check applies to the socket path depends on an"
                " expression that cannot be evaluated here",
                fix,
            )
            return


def _bot_fight_mode(result: AuditResult, zone: Zone) -> None:
    if zone.bot_management is None:
        return
    if zone.bot_management.get("fight_mode"):
        result.add(
            "warning",
            f"zone {zone.name}: bot management",
            "Bot Fight Mode is on; it cannot be skipped per path, so a client it flags is challenged on"
            " /socket.io/ too",
            "if socket clients get challenged, turn it off or use Super Bot Fight Mode with a skip rule",
        )


def _cache_rules(result: AuditResult, zone: Zone, requests: list[SocketRequest], socket_path: str) -> None:
    fix = (
        "make the cache rule exclude the socket path, or add a bypass-cache rule for"
        f' starts_with(http.request.uri.path, "{socket_path}")'
    )
    for request in requests:
        decision: Tri = Tri.FALSE
        origin = ""
        for rule in zone.page_rules:
            if _page_rule_actions(rule).get("cache_level") == "cache_everything" and _page_rule_matches(rule, request):
                decision, origin = (
                    Tri.TRUE,
                    f"zone {zone.name}: page rule {rule.get('id')} (cache_level cache_everything)",
                )
        for rule in zone.phases.get("cache", []):
            params = rule.get("action_parameters") or {}
            if rule.get("action") != "set_cache_settings" or "cache" not in params:
                continue
            outcome = evaluate(str(rule.get("expression", "")), request)
            if outcome is Tri.TRUE:  # later rules override earlier ones
                decision, origin = Tri.of(bool(params["cache"])), _rule_where(zone, "cache", rule)
            elif outcome is Tri.UNKNOWN and bool(params["cache"]):
                decision, origin = Tri.UNKNOWN, _rule_where(zone, "cache", rule) + f" ({rule.get('expression')!r})"
        if decision is Tri.TRUE:
            result.add(
                "error",
                origin,
                f"makes {request.method} {request.url.split('?')[0]} eligible for cache:"
                " a cached handshake or upgrade breaks every client",
                fix,
            )
            return
        if decision is Tri.UNKNOWN:
            result.add("review", origin, "may cache the socket path; its expression cannot be evaluated here", fix)
            return


def _argo(result: AuditResult, zone: Zone) -> None:
    if zone.argo is not None and zone.argo.get("value") == "on":
        result.add(
            "warning",
            f"zone {zone.name}: argo/smart_routing",
            "Argo Smart Routing is on; it does not apply to WebSocket traffic, so socket latency will not"
            " benefit from it",
            "nothing to change for the socket; measure latency with the suite instead",
        )


def audit_cloudflare(
    *,
    token: str,
    token_env: str,
    zone_id: str | None,
    zone_name: str | None,
    site_host: str,
    socket_path: str,
    base_url: str | None = None,
) -> list[AuditResult]:
    """Read the zone (GET only) and judge it."""
    client = Cloudflare(api_token=token, base_url=base_url, max_retries=0, timeout=15)
    try:
        zone = ZoneReader(client, token_env).zone(zone_id, zone_name)
    finally:
        client.close()
    return audit_zone(zone, site_host, socket_path)
