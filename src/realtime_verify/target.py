"""The target under test: its effective profile, how to reach it, who logs in, its REST API.

`prepare_target()` turns a profile into a `Target`, starting the embedded stack when the profile
names no base_url, and runs the preflight: one handshake that tells, within seconds, whether the
target can be verified at all (exit code 3 when not: unreachable, TLS, not socket.io).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

import aiohttp

from realtime_verify.config import Credentials, Profile
from realtime_verify.errors import ConfigError, RealtimeVerifyError, TargetUnreachable
from realtime_verify.net import NetworkOptions
from realtime_verify.stack import EmbeddedStack, StackConfig

CHALLENGE_MARKERS = ("cf-mitigated", "Just a moment", "challenge-platform", "cf-chl")


def is_challenge(status: int | None, headers: Mapping[str, str], body: str) -> bool:
    """A Cloudflare challenge: `cf-mitigated: challenge`, or a 403/503 carrying a challenge page."""
    mitigated = next((v for k, v in headers.items() if k.lower() == "cf-mitigated"), "")
    return mitigated.lower() == "challenge" or (status in (403, 503) and any(m in body for m in CHALLENGE_MARKERS))


@dataclass(frozen=True)
class Handshake:
    """What a polling handshake to the socket path answered."""

    url: str
    status: int
    headers: dict[str, str]
    body: str
    open_packet: dict[str, Any] | None

    @property
    def challenged(self) -> bool:
        return is_challenge(self.status, self.headers, self.body)

    @property
    def ping_interval_s(self) -> float | None:
        return self.open_packet["pingInterval"] / 1000 if self.open_packet else None

    @property
    def ping_timeout_s(self) -> float | None:
        return self.open_packet["pingTimeout"] / 1000 if self.open_packet else None


def handshake_url(profile: Profile, transport: str = "polling") -> str:
    return f"{profile.socket_base}{profile.socket_path}?EIO=4&transport={transport}"


def site_origin(profile: Profile) -> str:
    """The Origin a browser on the site sends."""
    base = profile.target.base_url or profile.socket_base
    parts = urlsplit(base)
    return f"{parts.scheme}://{parts.netloc}"


async def fetch_handshake(
    profile: Profile,
    network: NetworkOptions,
    *,
    origin: str | None = None,
    timeout_s: float | None = None,
) -> Handshake:
    """GET the polling handshake; connection-level failures become TargetUnreachable."""
    url = handshake_url(profile)
    timeout = aiohttp.ClientTimeout(total=timeout_s or profile.target.connect_timeout_s)
    headers = {"Origin": origin} if origin else {}
    try:
        async with (
            network.session(timeout=timeout) as session,
            session.get(url, headers=headers) as resp,
        ):
            body = await resp.text(errors="replace")
            return Handshake(
                url,
                resp.status,
                {k.lower(): v for k, v in resp.headers.items()},
                body[:4000],
                _open_packet(body),
            )
    except aiohttp.ClientConnectorCertificateError as error:
        raise TargetUnreachable(
            "tls",
            f"TLS failed for {url}: {error.certificate_error}. A private CA? Set target.ca_file.",
        ) from None
    except (aiohttp.ClientSSLError, ssl.SSLError) as error:
        raise TargetUnreachable("tls", f"TLS failed for {url}: {error}") from None
    except aiohttp.ClientConnectorError as error:
        raise TargetUnreachable(
            "unreachable",
            f"cannot connect to {url}: {error.os_error.strerror or error}. Is the app up and the URL right?",
        ) from None
    except TimeoutError:
        raise TargetUnreachable(
            "unreachable",
            f"no answer from {url} within {timeout.total:g} s (target.connect_timeout_s)",
        ) from None
    except aiohttp.ClientError as error:
        raise TargetUnreachable("unreachable", f"{url}: {error}") from None


def _open_packet(body: str) -> dict[str, Any] | None:
    # Polling payloads may hold several packets separated by \x1e; the open packet comes first.
    first = body.split("\x1e", 1)[0]
    if not first.startswith("0{"):
        return None
    try:
        packet = json.loads(first[1:])
    except ValueError:
        return None
    return packet if isinstance(packet, dict) and "sid" in packet else None


async def preflight(profile: Profile, network: NetworkOptions) -> Handshake:
    """Raise TargetUnreachable unless the socket path answers like a socket.io server.

    A challenge on the socket path alone is not fatal: the checks name it (HS-004). A challenge on
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
            return is_challenge(resp.status, resp.headers, body)
    except (aiohttp.ClientError, TimeoutError):
        return False


class ApiClient:
    """The target's REST API, as one user; raises RealtimeVerifyError with the server's answer."""

    def __init__(self, profile: Profile, network: NetworkOptions, token: str | None = None) -> None:
        self.profile = profile
        self.network = network
        self.token = token
        self.user_id: Any = None  # from the login answer's user.id, when it has one
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> ApiClient:
        self._session = self.network.session(timeout=aiohttp.ClientTimeout(total=15))
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def request(self, method: str, path: str, body: Any = None, expect: tuple[int, ...] = (200, 201)) -> Any:
        assert self._session is not None, "use `async with ApiClient(...)`"
        base = self.profile.target.base_url
        assert base is not None
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        async with self._session.request(method, base.rstrip("/") + path, json=body, headers=headers) as resp:
            text = await resp.text()
            if resp.status not in expect:
                raise RealtimeVerifyError(f"{method} {path}: HTTP {resp.status}: {text[:200]}")
            return json.loads(text) if text else None

    async def login(self, credentials: Credentials) -> str:
        auth = self.profile.auth
        assert self._session is not None
        base = self.profile.target.base_url
        assert base is not None
        body = {"username": credentials.username, "password": credentials.password}
        async with self._session.post(base.rstrip("/") + auth.login_path, json=body) as resp:
            text = await resp.text()
            if resp.status != 200:
                raise ConfigError(
                    f"login as {credentials.username!r} at {auth.login_path} failed: HTTP {resp.status}"
                    f" {text[:120]}. Check the test account's env vars (auth.users)."
                )
            answer = json.loads(text)
            token = answer.get(auth.token_field)
        if not isinstance(token, str):
            raise ConfigError(f"the login answer has no {auth.token_field!r} field (auth.token_field)")
        self.token = token
        user = answer.get("user")
        self.user_id = user.get("id") if isinstance(user, dict) else None
        return token


@dataclass
class Target:
    """A target ready to verify: effective profile, network, users, the stack when embedded."""

    profile: Profile
    network: NetworkOptions
    handshake: Handshake
    credentials: dict[str, Credentials]
    stack: EmbeddedStack | None = None
    nginx_conf: str | None = None
    # Environment the target brings (the embedded zone's API token), secret like any token.
    extra_env: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    user_ids: dict[str, Any] = field(default_factory=dict)
    _token_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def base_url(self) -> str:
        assert self.profile.target.base_url is not None
        return self.profile.target.base_url

    def has_user(self, role: str) -> bool:
        return role in self.credentials

    def user(self, role: str) -> Credentials:
        if role not in self.credentials:
            raise ConfigError(f"no test user {role!r}: configure auth.users.{role}")
        return self.credentials[role]

    async def token(self, role: str) -> str:
        async with self._token_lock:
            if role not in self.tokens:
                async with ApiClient(self.profile, self.network) as api:
                    self.tokens[role] = await api.login(self.user(role))
                    self.user_ids[role] = api.user_id
            return self.tokens[role]

    async def user_id(self, role: str) -> Any:
        """The user's id from the login answer (`user.id`), or None when the API does not say."""
        await self.token(role)
        return self.user_ids.get(role)

    def api(self, token: str | None = None) -> ApiClient:
        return ApiClient(self.profile, self.network, token)

    async def remove_synthetic_messages(self, marker_prefix: str) -> int | None:
        """Delete the chat messages this run sent (each test user deletes its own); None if the app
        has no such endpoint (api.chat_cleanup = "")."""
        path = self.profile.api.chat_cleanup
        if not path or self.profile.auth.mode == "none":
            return None
        removed = 0
        for role in self.credentials:
            try:
                async with self.api(await self.token(role)) as api:
                    answer = await api.request("DELETE", path.format(marker=quote(marker_prefix)))
            except (RealtimeVerifyError, aiohttp.ClientError, OSError):
                continue  # best effort: the data stays marked with the run id
            removed += int(answer.get("deleted", 0)) if isinstance(answer, dict) else 0
        return removed

    def socket_auth(self, token: str) -> dict[str, str]:
        return {self.profile.auth.socket_auth_key: token}

    async def close(self) -> None:
        if self.stack is not None:
            await self.stack.stop()


async def prepare_target(profile: Profile, stack_config: StackConfig | None = None) -> Target:
    """Start the embedded stack when needed, resolve users, run the preflight."""
    stack: EmbeddedStack | None = None
    try:
        if profile.embedded:
            stack = EmbeddedStack(stack_config or StackConfig())
            info = await stack.start()
            profile = dataclasses.replace(
                profile.with_target(base_url=info.base_url, behind_cloudflare=True),
                budgets=dataclasses.replace(
                    profile.budgets,
                    heartbeat_interval_s=info.timers.heartbeat_interval_ms / 1000,
                    edge_idle_timeout_s=info.timers.edge_idle_timeout_s,
                    ping_interval_s=info.timers.ping_interval_s,
                    ping_timeout_s=info.timers.ping_timeout_s,
                ),
                config_files=dataclasses.replace(
                    profile.config_files,
                    nginx=info.nginx_conf,
                    env=[info.env_file],
                    k8s=[info.k8s_file],
                    site_url=info.base_url,
                ),
                cloudflare=dataclasses.replace(
                    profile.cloudflare,
                    zone_id=info.cf_zone_id,
                    zone_name=info.cf_zone_name,
                    api_base_url=info.cf_api_url,
                ),
            )
            extra_env = {profile.cloudflare.token_env: info.cf_token}
            network = info.network
            credentials = {
                role: Credentials(name, info.users[name])
                for role, name in (("a", "alice"), ("b", "bob"), ("c", "carol"))
            }
        else:
            network = NetworkOptions(
                resolve=profile.target.resolve,
                ca_file=None if profile.target.ca_file is None else _path(profile.target.ca_file),
            )
            credentials = {}
            extra_env = {}
        # Reachability first: a dead target is the more useful thing to hear about.
        handshake = await preflight(profile, network)
        if stack is None and profile.auth.mode != "none":
            for role in profile.auth.users:
                if profile.has_user(role):
                    credentials[role] = profile.credentials(role)
            for role in ("a", "b"):
                if role not in credentials:
                    profile.credentials(role)  # raises ConfigError naming the missing env vars
        target = Target(profile, network, handshake, credentials, stack, profile.config_files.nginx, extra_env)
        if "a" in credentials:
            await target.token("a")  # wrong accounts end the run here, with one clear line
        return target
    except BaseException:
        if stack is not None:
            await stack.stop()
        raise


def _path(value: str) -> Path:
    path = Path(value)
    if not path.is_file():
        raise ConfigError(f"target.ca_file {value!r} does not exist")
    return path
