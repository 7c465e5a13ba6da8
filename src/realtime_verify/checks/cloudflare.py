"""CF-*: judging a Cloudflare zone (read by `audit.cloudflare`) for the socket path.

Rule expressions are evaluated against the requests a socket.io client makes (`checks.rules`); what
cannot be evaluated is reported as "needs review" with the expression, never silently passed.
"""

from __future__ import annotations

from typing import Any

from realtime_verify import catalogue as c
from realtime_verify.audit.cloudflare import PHASES, READ_PERMISSIONS, Zone
from realtime_verify.catalogue import Check
from realtime_verify.checks.rules import SocketRequest, Tri, evaluate, socket_requests, url_pattern_matches
from realtime_verify.outcome import CheckResult, Finding, FindingSeverity

CF_CHECKS = (c.CF_001, c.CF_002, c.CF_003, c.CF_004, c.CF_005, c.CF_006)
BLOCKING_ACTIONS = {"block", "challenge", "js_challenge", "managed_challenge"}
SKIP_FIX = (
    'exclude the socket path from the rule (add `and not starts_with(http.request.uri.path, "{path}")`)'
    " or put a skip rule for it first; socket.io clients cannot solve challenges, and long-polling"
    " makes a request every few seconds"
)


class _Findings:
    def __init__(self, check: Check) -> None:
        self.check = check
        self.findings: list[Finding] = []

    def add(self, severity: FindingSeverity, where: str, found: str, fix: str = "") -> None:
        self.findings.append(Finding(severity, where, found, fix))


# Judging -----------------------------------------------------------------------------------------


def _rule_where(zone: Zone, phase_key: str, rule: dict[str, Any]) -> str:
    name = rule.get("description") or rule.get("id") or "?"
    return f"zone {zone.name}: {PHASES[phase_key]} rule {name!r}"


def _page_rule_matches(rule: dict[str, Any], request: SocketRequest) -> bool:
    for target in rule.get("targets", []):
        pattern = str((target.get("constraint") or {}).get("value", ""))
        url = request.url
        subject = url if "://" in pattern else url.split("://", 1)[1]
        if url_pattern_matches(pattern, subject):
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


def judge_zone(zone: Zone, site_host: str, socket_path: str) -> list[CheckResult]:
    """The CF checks on what was read."""
    requests = socket_requests(site_host, socket_path)
    results = {check: _Findings(check) for check in CF_CHECKS}
    _websockets(results[c.CF_001], zone)
    _blocking_rules(results[c.CF_002], zone, requests, socket_path)
    _browser_integrity(results[c.CF_003], zone, requests, socket_path)
    _bot_fight_mode(results[c.CF_004], zone)
    _cache_rules(results[c.CF_005], zone, requests, socket_path)
    _argo(results[c.CF_006], zone)
    for what, why in zone.unreadable.items():
        check = {"bot management": c.CF_004, "Argo Smart Routing": c.CF_006, "page rules": c.CF_002}.get(what)
        if check is None:
            check = c.CF_005 if "cache" in what else c.CF_003 if "config" in what else c.CF_002
        results[check].add(
            "review",
            f"zone {zone.name}: {what}",
            f"could not be read ({why})",
            f"grant the token read access ({READ_PERMISSIONS})",
        )
    checked = [f"zone {zone.name} ({zone.id})"]
    return [CheckResult.from_findings(r.check, r.findings, checked=checked) for r in results.values()]


def _websockets(result: _Findings, zone: Zone) -> None:
    value = zone.settings.get("websockets", {}).get("value")
    if value != "on":
        result.add(
            "error",
            f"zone {zone.name}: setting websockets",
            f"WebSockets are {value!r}: every upgrade is refused",
            "Network → WebSockets: on (changing it is for a person with write access; this audit never writes)",
        )


def _blocking_rules(result: _Findings, zone: Zone, requests: list[SocketRequest], socket_path: str) -> None:
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


def _browser_integrity(result: _Findings, zone: Zone, requests: list[SocketRequest], socket_path: str) -> None:
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


def _bot_fight_mode(result: _Findings, zone: Zone) -> None:
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


def _cache_rules(result: _Findings, zone: Zone, requests: list[SocketRequest], socket_path: str) -> None:
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


def _argo(result: _Findings, zone: Zone) -> None:
    if zone.argo is not None and zone.argo.get("value") == "on":
        result.add(
            "warning",
            f"zone {zone.name}: argo/smart_routing",
            "Argo Smart Routing is on; it does not apply to WebSocket traffic, so socket latency will not"
            " benefit from it",
            "nothing to change for the socket; measure latency with the suite instead",
        )
