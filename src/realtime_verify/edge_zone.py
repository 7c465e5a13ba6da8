"""The edge emulator's own "zone", served in the shape of Cloudflare's API v4 (read endpoints only).

The embedded stack plays Cloudflare, so it can also answer the Cloudflare audit: its settings and
rules are generated from what the edge emulator currently does (a challenge on the socket path is a
custom rule, a cached socket path is a cache rule, refused upgrades are WebSockets off). The audit
then runs through the official SDK against the stack, and the edge faults make CF checks fail.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from realtime_verify.edge import EdgeBehaviour

MODIFIED = "2026-01-01T00:00:00.000000Z"
RULESET_ID = "0" * 31 + "1"


def _ok(result: Any, **extra: Any) -> tuple[int, dict[str, Any]]:
    return 200, {"success": True, "errors": [], "messages": [], "result": result, **extra}


def _error(status: int, code: int, message: str) -> tuple[int, dict[str, Any]]:
    return status, {"success": False, "errors": [{"code": code, "message": message}], "messages": [], "result": None}


def _setting(setting_id: str, value: str) -> tuple[int, dict[str, Any]]:
    return _ok({"id": setting_id, "value": value, "editable": True, "modified_on": MODIFIED})


def _ruleset(phase: str, rules: list[dict[str, Any]]) -> tuple[int, dict[str, Any]]:
    if not rules:
        return _error(404, 10003, f"could not find entrypoint ruleset in the {phase} phase")
    return _ok(
        {
            "id": RULESET_ID,
            "kind": "zone",
            "name": "default",
            "phase": phase,
            "version": "1",
            "last_updated": MODIFIED,
            "description": "",
            "rules": rules,
        }
    )


def _rule(number: int, action: str, expression: str, description: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": f"{number:032x}",
        "version": "1",
        "action": action,
        "expression": expression,
        "description": description,
        "enabled": True,
        "last_updated": MODIFIED,
        "ref": f"{number:032x}",
        **extra,
    }


@dataclass(frozen=True)
class ZoneSettings:
    """Settings of the emulated zone that change what the API says, not what the edge does."""

    bic_exception_for_socket: bool = True
    bot_fight_mode: bool = False
    argo: bool = False


def zone_response(
    method: str,
    path: str,
    *,
    zone_id: str,
    zone_name: str,
    socket_path: str,
    behaviour: EdgeBehaviour,
    settings: ZoneSettings | None = None,
) -> tuple[int, dict[str, Any]]:
    """Answer one request under /client/v4 the way Cloudflare would for this edge's zone."""
    if method != "GET":
        return _error(405, 10405, "realtime-verify's emulated zone is read-only")
    settings = settings or ZoneSettings()
    prefix = socket_path.rstrip("/")
    if path == "/zones":
        zone = {
            "id": zone_id,
            "name": zone_name,
            "status": "active",
            "paused": False,
            "type": "full",
            "development_mode": 0,
            "name_servers": [],
            "original_name_servers": [],
            "modified_on": MODIFIED,
            "created_on": MODIFIED,
            "activated_on": MODIFIED,
        }
        return _ok([zone], result_info={"page": 1, "per_page": 20, "count": 1, "total_count": 1, "total_pages": 1})
    match = re.fullmatch(rf"/zones/{zone_id}(/.*)?", path)
    if match is None:
        return _error(404, 1001, "Invalid zone identifier")
    rest = match.group(1) or ""
    if rest == "":
        return _ok({"id": zone_id, "name": zone_name, "status": "active"})
    if rest == "/settings/websockets":
        return _setting("websockets", "on" if behaviour.websockets else "off")
    if rest == "/settings/browser_check":
        return _setting("browser_check", "on")
    if rest == "/rulesets/phases/http_request_firewall_custom/entrypoint":
        rules = [_rule(1, "block", 'http.request.uri.path contains "/wp-login"', "Block WordPress probes")]
        if behaviour.challenge_socket:
            rules.append(
                _rule(2, "managed_challenge", f'http.request.uri.path contains "{prefix}"', "Challenge the socket path")
            )
        return _ruleset("http_request_firewall_custom", rules)
    if rest == "/rulesets/phases/http_request_cache_settings/entrypoint":
        rules = [
            _rule(
                3,
                "set_cache_settings",
                'starts_with(http.request.uri.path, "/static/")',
                "Cache static files",
                action_parameters={"cache": True},
            )
        ]
        if behaviour.cache_socket:
            rules.append(
                _rule(
                    4,
                    "set_cache_settings",
                    f'starts_with(http.request.uri.path, "{prefix}")',
                    "Cache the socket path",
                    action_parameters={"cache": True},
                )
            )
        return _ruleset("http_request_cache_settings", rules)
    if rest == "/rulesets/phases/http_config_settings/entrypoint":
        rules = []
        if settings.bic_exception_for_socket:
            rules.append(
                _rule(
                    5,
                    "set_config",
                    f'starts_with(http.request.uri.path, "{prefix}/")',
                    "No Browser Integrity Check for the socket",
                    action_parameters={"bic": False},
                )
            )
        return _ruleset("http_config_settings", rules)
    if rest.startswith("/rulesets/phases/") and rest.endswith("/entrypoint"):
        return _ruleset(rest.split("/")[3], [])
    if rest == "/pagerules":
        return _ok([])
    if rest == "/bot_management":
        return _ok({"enable_js": False, "fight_mode": settings.bot_fight_mode, "using_latest_model": True})
    if rest == "/argo/smart_routing":
        return _setting("smart_routing", "on" if settings.argo else "off")
    return _error(404, 7003, "Could not route to the requested path")
