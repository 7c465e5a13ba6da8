"""Reading a Cloudflare zone through the official SDK, for CF-*. Read-only.

Only GET endpoints are called (zones, zone settings, ruleset phase entrypoints, page rules, bot
management, Argo); the token needs read permissions only.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import cloudflare
from cloudflare import Cloudflare

from realtime_verify.errors import UsageError

T = TypeVar("T")
READ_PERMISSIONS = (
    "Zone Read, Zone Settings Read, Zone WAF Read, Config Rules Read, Cache Rules Read, Page Rules Read,"
    " Bot Management Read"
)
PHASES = {
    "custom": "http_request_firewall_custom",
    "ratelimit": "http_ratelimit",
    "sbfm": "http_request_sbfm",
    "config": "http_config_settings",
    "cache": "http_request_cache_settings",
}

# The SDK imports a resource's module (hundreds of pydantic models) on its first use: about a second
# for these, measured on 2 cores, that a run otherwise spends waiting inside the audit.
SDK_RESOURCES = ("zones", "rulesets", "page_rules", "bot_management", "argo")


def preload_sdk() -> threading.Thread:
    """Import the SDK's resource modules the audit reads, in a background thread, while the run
    does something else (starts its stack); the audit then finds them imported."""

    def load() -> None:
        try:
            for name in SDK_RESOURCES:
                importlib.import_module(f"cloudflare.resources.{name}")
        except (ImportError, AttributeError):  # only a head start: the audit imports them itself
            return

    thread = threading.Thread(target=load, name="cloudflare-sdk-preload", daemon=True)
    thread.start()
    return thread


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

    def _answer(self, what: str, call: Callable[[], T]) -> T:
        """The SDK's answer, which must be Cloudflare's JSON (a proxy or a wrong api_base_url answers HTML)."""
        try:
            answer = call()
        except (cloudflare.APIResponseValidationError, AttributeError, TypeError, ValueError):
            # The SDK hands a non-JSON body on as a str, whose `.result` the caller's lambda then reads.
            raise UsageError(self._not_cloudflare(what)) from None
        if isinstance(answer, str | bytes):
            raise UsageError(self._not_cloudflare(what))
        return answer

    def _not_cloudflare(self, what: str) -> str:
        return (
            f"the API at {self.client.base_url} did not answer with Cloudflare's JSON when reading {what}:"
            " check cloudflare.api_base_url"
        )

    def _essential(self, what: str, call: Callable[[], T]) -> T:
        try:
            return self._answer(what, call)
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
            return self._answer(what, call)
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


def read_zone(
    *, token: str, token_env: str, zone_id: str | None, zone_name: str | None, base_url: str | None = None
) -> Zone:
    """Read the zone (GET only) through the SDK."""
    client = Cloudflare(api_token=token, base_url=base_url, max_retries=0, timeout=15)
    try:
        return ZoneReader(client, token_env).zone(zone_id, zone_name)
    finally:
        client.close()
