"""The target under test: its effective profile, how to reach it, and its HTTP API as a user.

`prepare_target()` turns a profile into a `Target`, starting the embedded stack when the profile
names no base_url, and runs the preflight: one handshake that tells, within seconds, whether the
target can be verified at all (exit code 3 when not: unreachable, TLS, not socket.io). Who logs in,
and how, is the app adapter's business (`realtime_verify.adapter`).
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from realtime_verify.config import Profile, get_path
from realtime_verify.errors import ConfigError, RealtimeVerifyError, TargetUnreachable
from realtime_verify.net import NetworkOptions
from realtime_verify.probes import Handshake, fetch_handshake, is_challenge
from realtime_verify.reporting.redact import shared_redactor
from realtime_verify.stack import EmbeddedStack, StackConfig, StackInfo


async def preflight(profile: Profile, network: NetworkOptions) -> Handshake:
    """Raise TargetUnreachable unless the socket path answers like a socket.io server.

    A challenge on the socket path alone is not fatal: the handshake checks name it. A challenge on
    the site's page too means nothing can be verified.
    """
    handshake = await fetch_handshake(profile, network)
    if handshake.open_packet is not None:
        return handshake
    if handshake.challenged:
        page = await _page_challenged(profile, network)
        if page:
            raise TargetUnreachable(
                "challenged",
                f"Cloudflare challenged both the page and {profile.socket_path} (HTTP {handshake.status},"
                " cf-mitigated: challenge): the suite cannot pass a challenge; allow its traffic"
                " (a WAF skip rule for the test accounts' IP) or run it against staging.",
            )
        return handshake
    content_type = handshake.headers.get("content-type", "?")
    raise TargetUnreachable(
        "not-socketio",
        f"{handshake.url} answered HTTP {handshake.status} ({content_type}) but not a socket.io"
        f" handshake: is socket.io served at target.socket_path ({profile.socket_path})?"
        f" The body starts with {handshake.body[:80]!r}",
    )


async def _page_challenged(profile: Profile, network: NetworkOptions) -> bool:
    base = profile.target.base_url or profile.socket_base
    try:
        async with (
            network.session(timeout=aiohttp.ClientTimeout(total=5)) as session,
            session.get(base) as resp,
        ):
            body = await resp.text(errors="replace")
            return bool(is_challenge(resp.status, resp.headers, body))
    except (aiohttp.ClientError, TimeoutError):
        return False


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)


@dataclass
class Session:
    """One user's authenticated session with the app: a token, or cookies, and the user's id."""

    role: str
    token: str | None = field(default=None, repr=False)
    cookie: str | None = field(default=None, repr=False)  # a `Cookie:` header value
    user_id: Any = None

    def headers(self) -> dict[str, str]:
        if self.token:
            return {"Authorization": f"Bearer {self.token}"}
        if self.cookie:
            return {"Cookie": self.cookie}
        return {}


class ApiClient:
    """The target's HTTP API, as one user; errors name the endpoint and the server's answer."""

    def __init__(self, profile: Profile, network: NetworkOptions, session: Session | None = None) -> None:
        self.profile = profile
        self.network = network
        self.session = session
        self._http: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> ApiClient:
        self._http = self.network.session(timeout=aiohttp.ClientTimeout(total=self.profile.target.connect_timeout_s))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._http is not None:
            await self._http.close()

    def url(self, path: str) -> str:
        base = self.profile.target.base_url
        assert base is not None, "a remote target has a base_url"
        return base.rstrip("/") + path

    async def request(self, method: str, path: str, body: Any = None, expect: tuple[int, ...] = (200, 201)) -> Any:
        """A JSON request as this user; a wrong status or a non-JSON answer is a RealtimeVerifyError."""
        assert self._http is not None, "use `async with ApiClient(...)`"
        headers = self.session.headers() if self.session else {}
        try:
            async with self._http.request(method, self.url(path), json=body, headers=headers) as resp:
                text = await resp.text(errors="replace")
                status = resp.status
        except (aiohttp.ClientError, TimeoutError) as error:
            raise RealtimeVerifyError(f"{method} {path}: {type(error).__name__}: {error}") from None
        if status not in expect:
            raise RealtimeVerifyError(f"{method} {path}: HTTP {status}: {_quote(text, 200, self.session)}")
        if not text:
            return None
        try:
            return json.loads(text)
        except ValueError:
            raise RealtimeVerifyError(f"{method} {path} answered HTTP {status} but not JSON: {text[:120]!r}") from None

    async def login(self, role: str, credentials: Credentials) -> Session:
        """Log in through the API (auth.mode api: JSON, a token) or the login form (form: a cookie)."""
        assert self._http is not None
        auth = self.profile.auth
        fields = {auth.username_field: credentials.username, auth.password_field: credentials.password}
        send = {"json": fields} if auth.mode == "api" else {"data": fields}
        where = f"login as {credentials.username!r} at {auth.login_path}"
        try:
            async with self._http.post(self.url(auth.login_path), allow_redirects=False, **send) as resp:  # type: ignore[arg-type]
                text = await resp.text(errors="replace")
                status = resp.status
                cookies = "; ".join(f"{name}={morsel.value}" for name, morsel in resp.cookies.items())
        except (aiohttp.ClientError, TimeoutError) as error:
            raise TargetUnreachable("unreachable", f"{where}: {type(error).__name__}: {error}") from None
        if status >= 400:
            raise ConfigError(
                f"{where} failed: HTTP {status} {_quote(text, 120, None, credentials.password)!r}. Check the test"
                " account's env vars (auth.users) and auth.login_path."
            )
        session = Session(role)
        answer: Any = None
        if auth.mode == "api":
            try:
                answer = json.loads(text)
            except ValueError:
                raise ConfigError(
                    f"{where} answered HTTP {status} but not JSON ({resp.content_type}): is auth.login_path the"
                    f" API's login endpoint? (auth.mode = 'form' logs in through a form with a cookie)"
                ) from None
            token = get_path(answer, auth.token_field)
            if not isinstance(token, str):
                raise ConfigError(f"{where}: the answer has no {auth.token_field!r} field (auth.token_field)")
            session.token = token
        else:
            if not cookies:
                raise ConfigError(
                    f"{where} answered HTTP {status} without setting a cookie: wrong password, or not the form's"
                    " action (auth.login_path, auth.username_field, auth.password_field)"
                )
            session.cookie = cookies
        if auth.user_id_field and isinstance(answer, dict):
            session.user_id = get_path(answer, auth.user_id_field)
        if session.user_id is None and auth.me_path:
            self.session = session
            me = await self.request("GET", auth.me_path)
            session.user_id = get_path(me, auth.user_id_field or "id")
        self.session = session
        return session


def _quote(text: str, limit: int, session: Session | None, *secrets: str) -> str:
    """A piece of a server's answer for a message: secrets replaced *before* it is cut, so that an
    answer echoing a password can never leave half of it in the message."""
    known = [*secrets, *((session.token or "", session.cookie or "") if session else ())]
    for secret in filter(None, known):
        text = text.replace(secret, "[REDACTED]")
    return shared_redactor().text(text)[:limit]


@dataclass
class Target:
    """A target ready to verify: effective profile, network, the handshake, the stack when embedded."""

    profile: Profile
    network: NetworkOptions
    handshake: Handshake
    stack: EmbeddedStack | None = None
    # Accounts the target brings itself (the embedded stack's); else they come from env vars.
    provided_users: dict[str, Credentials] = field(default_factory=dict)
    # Environment the target brings (the embedded zone's API token), secret like any token.
    extra_env: dict[str, str] = field(default_factory=dict)
    app_version: str = ""  # the build being verified, when target.version_path says it

    @property
    def base_url(self) -> str:
        assert self.profile.target.base_url is not None
        return self.profile.target.base_url

    def api(self, session: Session | None = None) -> ApiClient:
        return ApiClient(self.profile, self.network, session)

    async def close(self) -> None:
        if self.stack is not None:
            await self.stack.stop()


EMBEDDED_USERS = (("a", "alice"), ("b", "bob"), ("c", "carol"))


async def prepare_target(profile: Profile, stack_config: StackConfig | None = None) -> Target:
    """Start the embedded stack when needed, then the preflight: can this target be verified at all?"""
    stack: EmbeddedStack | None = None
    try:
        users: dict[str, Credentials] = {}
        extra_env: dict[str, str] = {}
        if profile.embedded:
            config = stack_config or StackConfig()
            stack = EmbeddedStack(dataclasses.replace(config, socket_path=profile.socket_path))
            info = await stack.start()
            profile = embedded_profile(profile, info)
            extra_env = {profile.cloudflare.token_env: info.cf_token}
            network = info.network
            users = {role: Credentials(name, info.users[name]) for role, name in EMBEDDED_USERS}
        else:
            network = NetworkOptions(
                resolve=profile.target.resolve,
                ca_file=None if profile.target.ca_file is None else _path(profile.target.ca_file),
            )
        # Reachability first: a dead target is the more useful thing to hear about.
        handshake = await preflight(profile, network)
        target = Target(profile, network, handshake, stack, users, extra_env)
        target.app_version = await _app_version(target)
        return target
    except BaseException:
        if stack is not None:
            await stack.stop()
        raise


async def _app_version(target: Target) -> str:
    """The build the target says it runs (target.version_path); "" when it does not say."""
    path = target.profile.target.version_path
    if not path:
        return ""
    try:
        async with target.api() as api:
            answer = await api.request("GET", path)
    except RealtimeVerifyError:
        return ""
    value = get_path(answer, target.profile.target.version_field) if isinstance(answer, dict) else answer
    return str(value)[:80] if value not in (None, "") else ""


def embedded_profile(profile: Profile, info: StackInfo) -> Profile:
    """The profile as the started embedded stack makes it: its URL, timers, files and zone."""
    timers = info.timers
    return profile.replace(
        target={"base_url": info.base_url, "behind_cloudflare": True, "version_path": "/api/health"},
        budgets={
            "heartbeat_interval_s": timers.heartbeat_interval_ms / 1000,
            "missed_pongs": timers.missed_pong_limit,
            "edge_idle_timeout_s": timers.edge_idle_timeout_s,
            "ping_interval_s": timers.ping_interval_s,
            "ping_timeout_s": timers.ping_timeout_s,
        },
        config_files={
            "nginx": info.nginx_conf,
            "env": [info.env_file],
            "k8s": [info.k8s_file],
            "site_url": info.base_url,
        },
        cloudflare={"zone_id": info.cf_zone_id, "zone_name": info.cf_zone_name, "api_base_url": info.cf_api_url},
        # Every method is safe against our own stack, unless the user narrowed them (to try the
        # client-side methods a production target allows).
        faults={} if "allowed" in profile.faults.model_fields_set else {"allowed": ["client", "edge", "backend"]},
    )


def keep_embedded_config(profile: Profile, folder: Path) -> Profile:
    """Copy the embedded stack's deployment files (its .env, ConfigMap, nginx conf) into the reports,
    and audit those copies: findings then cite files that still exist after the stack is gone."""
    folder.mkdir(parents=True, exist_ok=True)
    files = profile.config_files

    def keep(value: str) -> str:
        source = Path(value)
        copy = folder / source.name
        shutil.copyfile(source, copy)
        return str(copy)

    return profile.replace(
        config_files={
            "env": [keep(p) for p in files.env],
            "k8s": [keep(p) for p in files.k8s],
            "nginx": keep(files.nginx) if files.nginx else None,
        }
    )


def _path(value: str) -> Path:
    path = Path(value)
    if not path.is_file():
        raise ConfigError(f"target.ca_file {value!r} does not exist")
    return path
