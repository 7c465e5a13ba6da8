"""The target profile: how the suite adapts to a real app.

Every setting resolves, in this order: the command line (`--set section.key=value`), the environment
(`RV_SECTION_KEY`), the profile file (TOML), the default. The defaults are the reference app's
contract, so an app that follows it needs a profile of three lines. Secrets are never in the file:
the file names the environment variables that hold them.

The sections are dataclasses; their fields are the schema, so validation, `RV_*` names and the
docs cannot drift apart.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from realtime_verify.errors import ConfigError

ENV_PREFIX = "RV_"


@dataclass(frozen=True)
class TargetSection:
    """Where the app is. No base_url: the embedded reference stack."""

    base_url: str | None = None
    socket_url: str | None = None  # default: base_url
    socket_path: str = "/socket.io/"
    behind_cloudflare: bool = False
    expected_ws_url: str | None = None  # default: wss://<socket host><socket_path>
    resolve: dict[str, str] = field(default_factory=dict)  # like curl --resolve: name -> address
    ca_file: str | None = None  # a private CA to trust (staging)
    connect_timeout_s: float = 8.0


@dataclass(frozen=True)
class AuthSection:
    """How the suite logs in; `users` maps a role (a, b, c) to an env var prefix."""

    mode: str = "api"  # api | form | none
    login_path: str = "/api/login"
    token_field: str = "token"
    socket_auth_key: str = "token"  # the socket.io `auth` payload is {socket_auth_key: token}
    # RV_USER_A holds the username of user A, RV_USER_A_PASSWORD its password.
    users: dict[str, str] = field(default_factory=lambda: {"a": "RV_USER_A", "b": "RV_USER_B", "c": "RV_USER_C"})


@dataclass(frozen=True)
class UiSection:
    """CSS selectors of the page (the `data-testid` contract by default)."""

    login_username: str = '[data-testid="login-username"]'
    login_password: str = '[data-testid="login-password"]'
    login_submit: str = '[data-testid="login-submit"]'
    connection_status: str = '[data-testid="connection-status"]'
    connected: str = '[data-testid="connection-status"][data-state="connected"]'
    conversation_select: str = '[data-testid="conversation-select"]'
    chat_input: str = '[data-testid="chat-input"]'
    chat_send: str = '[data-testid="chat-send"]'
    chat_message: str = '[data-testid="chat-message"]'
    orders_list: str = '[data-testid="orders-list"]'
    order_row: str = '[data-testid="order-row"]'
    order_status: str = '[data-testid="order-status"]'
    order_advance: str = '[data-testid="order-advance"]'
    version_banner: str = '[data-testid="version-banner"]'


@dataclass(frozen=True)
class EventsSection:
    """Socket.IO event names."""

    chat_message: str = "chat:message"
    orders_update: str = "orders:update"
    tasks_update: str = "tasks:update"
    health_ping: str = "health:ping"
    health_pong: str = "health:pong"


@dataclass(frozen=True)
class ApiSection:
    """REST endpoints (paths on base_url); an empty one skips the checks that need it."""

    users: str = "/api/users"
    orders: str = "/api/orders"  # POST {"title"} creates
    order: str = "/api/orders/{id}"  # PATCH {"status"} updates, DELETE deletes
    order_statuses: list[str] = field(default_factory=lambda: ["new", "accepted", "preparing", "ready", "delivered"])
    chat_since: str = "/api/chat/messages?since_id={id}"
    # DELETE removes the user's own synthetic messages at the end of a run ("" if the app has none).
    chat_cleanup: str = "/api/chat/messages?contains={marker}"
    orders_since: str = "/api/orders?since_version={version}"


@dataclass(frozen=True)
class BudgetsSection:
    """What "instantly" means for this app."""

    chat_p95_ms: float = 250.0
    order_p95_ms: float = 500.0
    chat_samples: int = 30  # per direction
    reconnect_s: float = 10.0
    heartbeat_interval_s: float = 30.0
    # The server's ping timers, for the nginx audit when no live handshake says them.
    ping_interval_s: float = 25.0
    ping_timeout_s: float = 20.0
    edge_idle_timeout_s: float = 100.0  # Cloudflare's WebSocket idle cut, about 100 s
    nginx_read_timeout_s: float | None = None  # known from [config_files] nginx when given


@dataclass(frozen=True)
class FaultsSection:
    """Which fault methods may run: client (own connections only), edge, backend."""

    allowed: list[str] = field(default_factory=lambda: ["client"])


@dataclass(frozen=True)
class CloudflareSection:
    """The zone to audit, read-only; the token comes from the env var named here."""

    zone_id: str | None = None
    zone_name: str | None = None
    token_env: str = "CLOUDFLARE_API_TOKEN"
    api_base_url: str | None = None  # only for tests against a local server


@dataclass(frozen=True)
class ConfigFilesSection:
    """Deployment files for the static audit."""

    env: list[str] = field(default_factory=list)
    k8s: list[str] = field(default_factory=list)
    nginx: str | None = None
    site_url: str | None = None  # the public site the env vars serve (default: base_url)
    allowed_hosts: list[str] = field(default_factory=list)  # other hosts the socket URL may use


SECTIONS: dict[str, type] = {
    "target": TargetSection,
    "auth": AuthSection,
    "ui": UiSection,
    "events": EventsSection,
    "api": ApiSection,
    "budgets": BudgetsSection,
    "faults": FaultsSection,
    "cloudflare": CloudflareSection,
    "config_files": ConfigFilesSection,
}
AUTH_MODES = ("api", "form", "none")
FAULT_METHODS = ("client", "edge", "backend")


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)


@dataclass(frozen=True)
class Profile:
    """A validated target profile."""

    target: TargetSection = field(default_factory=TargetSection)
    auth: AuthSection = field(default_factory=AuthSection)
    ui: UiSection = field(default_factory=UiSection)
    events: EventsSection = field(default_factory=EventsSection)
    api: ApiSection = field(default_factory=ApiSection)
    budgets: BudgetsSection = field(default_factory=BudgetsSection)
    faults: FaultsSection = field(default_factory=FaultsSection)
    cloudflare: CloudflareSection = field(default_factory=CloudflareSection)
    config_files: ConfigFilesSection = field(default_factory=ConfigFilesSection)
    source: str = "defaults"
    # Where each non-default value came from ("file", "RV_X", "--set"), for the report header.
    origins: dict[str, str] = field(default_factory=dict)

    @property
    def embedded(self) -> bool:
        return self.target.base_url is None

    @property
    def socket_base(self) -> str:
        base = self.target.socket_url or self.target.base_url
        if base is None:
            raise ConfigError("no target: set target.base_url")
        return base.rstrip("/")

    @property
    def socket_path(self) -> str:
        path = self.target.socket_path
        return path if path.endswith("/") else path + "/"

    @property
    def expected_ws_url(self) -> str:
        if self.target.expected_ws_url:
            return self.target.expected_ws_url
        parts = urlsplit(self.socket_base)
        scheme = "wss" if parts.scheme in ("https", "wss") else "ws"
        return f"{scheme}://{parts.netloc}{self.socket_path}"

    def credentials(self, role: str, env: Mapping[str, str] | None = None) -> Credentials:
        """The username and password of user `role` (a, b, c) from the env vars the profile names."""
        env = os.environ if env is None else env
        prefix = self.auth.users.get(role)
        if prefix is None:
            raise ConfigError(f'auth.users has no user {role!r}; add it, e.g. {role} = "RV_USER_{role.upper()}"')
        missing = [name for name in (prefix, f"{prefix}_PASSWORD") if not env.get(name)]
        if missing:
            raise ConfigError(
                f"user {role} needs the environment variable(s) {', '.join(missing)}"
                f" (auth.users.{role} = {prefix!r}: {prefix} holds the username,"
                f" {prefix}_PASSWORD the password)"
            )
        return Credentials(env[prefix], env[f"{prefix}_PASSWORD"])

    def has_user(self, role: str, env: Mapping[str, str] | None = None) -> bool:
        env = os.environ if env is None else env
        prefix = self.auth.users.get(role)
        return bool(prefix and env.get(prefix) and env.get(f"{prefix}_PASSWORD"))

    def with_target(self, **changes: Any) -> Profile:
        return dataclasses.replace(self, target=dataclasses.replace(self.target, **changes))

    def secret_values(self, env: Mapping[str, str] | None = None) -> list[str]:
        """Every secret this profile can reach (passwords, API token): for redaction."""
        env = os.environ if env is None else env
        names = [f"{prefix}_PASSWORD" for prefix in self.auth.users.values()]
        names.append(self.cloudflare.token_env)
        return [env[name] for name in names if env.get(name)]


# Loading -----------------------------------------------------------------------------------------


def load_profile(
    path: Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, str] | None = None,
) -> Profile:
    """Load and validate a profile: file, then `RV_*` env vars, then `section.key=value` overrides."""
    env = os.environ if env is None else env
    raw: dict[str, dict[str, Any]] = {name: {} for name in SECTIONS}
    origins: dict[str, str] = {}
    source = "defaults"
    if path is not None:
        source = str(path)
        for section, values in _read_toml(path).items():
            raw[section].update(values)
            origins.update({f"{section}.{key}": "file" for key in values})
    for section_name, section_type in SECTIONS.items():
        for f in dataclasses.fields(section_type):
            env_name = f"{ENV_PREFIX}{section_name}_{f.name}".upper()
            if env_name in env:
                raw[section_name][f.name] = _parse_text(env[env_name], _hint(section_type, f.name), env_name)
                origins[f"{section_name}.{f.name}"] = env_name
    for dotted, value in (overrides or {}).items():
        section_name, key = _split_key(dotted, "--set")
        raw[section_name][key] = _parse_text(value, _hint(SECTIONS[section_name], key), f"--set {dotted}")
        origins[dotted] = "--set"
    sections = {name: _build_section(name, SECTIONS[name], values, origins) for name, values in raw.items()}
    profile = Profile(**sections, source=source, origins=origins)
    _validate(profile)
    return profile


def _read_toml(path: Path) -> dict[str, dict[str, Any]]:
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"profile {path} does not exist") from None
    except OSError as error:
        raise ConfigError(f"cannot read profile {path}: {error.strerror}") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path} is not valid TOML: {error}") from None
    result: dict[str, dict[str, Any]] = {}
    for section, values in data.items():
        if section not in SECTIONS:
            raise ConfigError(f"{path}: unknown section [{section}].{_suggest(section, SECTIONS)}")
        if not isinstance(values, dict):
            raise ConfigError(f"{path}: {section} must be a table, [{section}]")
        known = {f.name for f in dataclasses.fields(SECTIONS[section])}
        for key in values:
            if key not in known:
                raise ConfigError(
                    f"{path}: unknown key {section}.{key}.{_suggest(key, known)}"
                    f" Valid keys of [{section}]: {', '.join(sorted(known))}"
                )
        result[section] = values
    return result


def _split_key(dotted: str, where: str) -> tuple[str, str]:
    section, _, key = dotted.partition(".")
    if section not in SECTIONS:
        raise ConfigError(f"{where}: unknown section {section!r}.{_suggest(section, SECTIONS)}")
    known = {f.name for f in dataclasses.fields(SECTIONS[section])}
    if key not in known:
        raise ConfigError(
            f"{where}: unknown key {section}.{key}.{_suggest(key, known)} Valid keys: {', '.join(sorted(known))}"
        )
    return section, key


def _suggest(word: str, choices: Any) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" Did you mean {close[0]!r}?" if close else ""


def _hint(section_type: type, key: str) -> Any:
    return typing.get_type_hints(section_type)[key]


def _parse_text(text: str, hint: Any, where: str) -> Any:
    """Turn an env var or --set string into the type the field wants."""
    base = _strip_optional(hint)
    text = text.strip()
    if base is not str and _is_optional(hint) and text == "":
        return None
    if base is bool:
        lowered = text.lower()
        if lowered in ("1", "true", "yes", "on"):
            return True
        if lowered in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{where} must be true or false, got {text!r}")
    if base in (int, float):
        try:
            return base(text)
        except ValueError:
            kind = "a whole number" if base is int else "a number"
            raise ConfigError(f"{where} must be {kind}, got {text!r}") from None
    if typing.get_origin(base) is list:
        return [item.strip() for item in text.split(",") if item.strip()]
    if typing.get_origin(base) is dict:
        pairs = {}
        for item in filter(None, (part.strip() for part in text.split(","))):
            key, sep, value = item.partition("=")
            if not sep:
                raise ConfigError(f"{where} must be name=value pairs separated by commas, got {item!r}")
            pairs[key.strip()] = value.strip()
        return pairs
    return text


def _is_optional(hint: Any) -> bool:
    return isinstance(hint, types.UnionType) and type(None) in typing.get_args(hint)


def _strip_optional(hint: Any) -> Any:
    if _is_optional(hint):
        return next(arg for arg in typing.get_args(hint) if arg is not type(None))
    return hint


def _check_type(value: Any, hint: Any, where: str) -> Any:
    if value is None and _is_optional(hint):
        return None
    base = _strip_optional(hint)
    if base is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    origin = typing.get_origin(base)
    if origin is list:
        if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
            raise ConfigError(f"{where} must be a list of strings, got {value!r}")
        return value
    if origin is dict:
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise ConfigError(f"{where} must be a table of strings, got {value!r}")
        return value
    if not isinstance(value, base) or (base is int and isinstance(value, bool)):
        names = {str: "a string", int: "a whole number", float: "a number", bool: "true or false"}
        raise ConfigError(f"{where} must be {names.get(base, base.__name__)}, got {value!r}")
    return value


def _build_section(name: str, section_type: type, values: dict[str, Any], origins: dict[str, str]) -> Any:
    checked = {}
    for key, value in values.items():
        where = f"{name}.{key}"
        if where in origins and origins[where] != "file":
            where += f" (from {origins[where]})"
        checked[key] = _check_type(value, _hint(section_type, key), where)
    return section_type(**checked)


def _validate(profile: Profile) -> None:
    target = profile.target
    for key in ("base_url", "socket_url", "expected_ws_url"):
        value = getattr(target, key)
        if value is not None:
            _check_url(f"target.{key}", value, ws=key == "expected_ws_url")
    if not target.socket_path.startswith("/"):
        raise ConfigError(f"target.socket_path must start with /, got {target.socket_path!r}")
    if profile.auth.mode not in AUTH_MODES:
        raise ConfigError(
            f"auth.mode must be one of {', '.join(AUTH_MODES)}, got {profile.auth.mode!r}."
            f"{_suggest(profile.auth.mode, AUTH_MODES)}"
        )
    for method in profile.faults.allowed:
        if method not in FAULT_METHODS:
            raise ConfigError(
                f"faults.allowed: unknown method {method!r}; valid: {', '.join(FAULT_METHODS)}."
                f"{_suggest(method, FAULT_METHODS)}"
            )
    budgets = profile.budgets
    for key in ("chat_p95_ms", "order_p95_ms", "reconnect_s", "heartbeat_interval_s"):
        if getattr(budgets, key) <= 0:
            raise ConfigError(f"budgets.{key} must be above 0")
    if budgets.chat_samples < 5:
        raise ConfigError("budgets.chat_samples must be at least 5 for a percentile to mean anything")


def _check_url(where: str, value: str, *, ws: bool = False) -> None:
    schemes = ("ws", "wss", "http", "https") if ws else ("http", "https")
    parts = urlsplit(value)
    if parts.scheme not in schemes or not parts.hostname:
        raise ConfigError(f"{where} must be an absolute {' or '.join(s + '://' for s in schemes)} URL, got {value!r}")


def parse_overrides(items: list[str]) -> dict[str, str]:
    """`--set section.key=value` items as a dict; a malformed item is a ConfigError."""
    overrides = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"--set {item!r}: expected SECTION.KEY=VALUE, e.g. budgets.chat_p95_ms=200")
        overrides[key.strip()] = value
    return overrides


def profile_from_target_option(
    target: str | None,
    *,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, str] | None = None,
) -> Profile:
    """`--target` takes a profile file or a URL (which sets target.base_url)."""
    overrides = dict(overrides or {})
    path: Path | None = None
    url_from_option = False
    if target:
        if "://" in target:
            url_from_option = "target.base_url" not in overrides
            overrides.setdefault("target.base_url", target)
        else:
            path = Path(target)
            if path.suffix != ".toml" and not path.exists():
                raise ConfigError(f"--target {target!r} is neither a URL (https://...) nor a profile file (.toml)")
    profile = load_profile(path, env=env, overrides=overrides)
    if url_from_option:
        profile.origins["target.base_url"] = "--target"
    return profile


def describe(profile: Profile) -> list[str]:
    """The effective non-default settings, one `section.key = value (origin)` line each."""
    lines = []
    for name in SECTIONS:
        section = getattr(profile, name)
        defaults = SECTIONS[name]()
        for f in dataclasses.fields(section):
            value = getattr(section, f.name)
            if value != getattr(defaults, f.name):
                origin = profile.origins.get(f"{name}.{f.name}", "")
                lines.append(f"{name}.{f.name} = {value!r}" + (f"  ({origin})" if origin else ""))
    return lines
