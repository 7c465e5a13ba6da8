"""Live probes of the socket endpoint: the polling handshake and one raw WebSocket upgrade, no browser.

What they answered is data (`Handshake`, `UpgradeProbe`); `checks.handshake` judges it. Connection-
level failures of the handshake become TargetUnreachable (exit 3): nothing else could be verified.
"""

from __future__ import annotations

import base64
import json
import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from realtime_verify.config import Profile
from realtime_verify.errors import TargetUnreachable
from realtime_verify.net import NetworkOptions

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


@dataclass(frozen=True)
class UpgradeProbe:
    """A direct WebSocket connection to the socket path (transport=websocket)."""

    url: str
    status: int | None
    headers: dict[str, str] = field(default_factory=dict)
    body: str = ""
    first_message: str | None = None
    error: str | None = None

    @property
    def challenged(self) -> bool:
        return is_challenge(self.status, self.headers, self.body)


async def probe_upgrade(profile: Profile, network: NetworkOptions, origin: str, timeout_s: float = 5.0) -> UpgradeProbe:
    url = handshake_url(profile, "websocket")
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    async with network.session(timeout=timeout) as session:
        try:
            async with session.ws_connect(url, headers={"Origin": origin}, autoping=False) as ws:
                headers = {k.lower(): v for k, v in ws._response.headers.items()}
                try:
                    message = await ws.receive(timeout=timeout_s)
                    first = message.data if message.type == aiohttp.WSMsgType.TEXT else None
                except TimeoutError:
                    first = None
                return UpgradeProbe(url, 101, headers, first_message=first)
        except aiohttp.WSServerHandshakeError as error:
            headers = {k.lower(): v for k, v in (error.headers or {}).items()}
            body = await _refusal_body(session, url, origin)
            return UpgradeProbe(url, error.status, headers, body=body or error.message or "", error=str(error))
        except (aiohttp.ClientError, TimeoutError) as error:
            return UpgradeProbe(url, None, error=f"{type(error).__name__}: {error}")


async def _refusal_body(session: aiohttp.ClientSession, url: str, origin: str) -> str:
    """What the server says when it refuses an upgrade: the WebSocket client does not keep the body,
    so the same upgrade request is made once more as plain HTTP to read it ("" if that fails)."""
    headers = {
        "Origin": origin,
        "Upgrade": "websocket",
        "Connection": "Upgrade",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(),
    }
    try:
        async with session.get(url, headers=headers) as resp:
            return (await resp.text(errors="replace"))[:400] if resp.status != 101 else ""
    except (aiohttp.ClientError, TimeoutError):
        return ""
