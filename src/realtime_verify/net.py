"""How the harness reaches a target: host-name mapping (like curl --resolve) and TLS trust.

The embedded stack serves `https://app.test:<port>` with a certificate from a local CA; browsers map
the name with `--host-resolver-rules`, Python clients with the resolver below. A real target needs
neither: its name resolves and its certificate is public.
"""

from __future__ import annotations

import base64
import dataclasses
import functools
import hashlib
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult
from cryptography import x509
from cryptography.hazmat.primitives import serialization


class MappedResolver(AbstractResolver):
    """Resolves the mapped names to fixed addresses and everything else as usual.

    `ports` sends a name's connections to another port than the URL's (to a local fault proxy),
    while the URL, its Host header and its TLS name stay the target's.
    """

    def __init__(self, mapping: Mapping[str, str], ports: Mapping[str, int] | None = None) -> None:
        self._mapping = dict(mapping)
        self._ports = dict(ports or {})
        self._default = aiohttp.ThreadedResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        address = self._mapping.get(host)
        if address is None:
            return await self._default.resolve(host, port, family)
        return [
            ResolveResult(
                hostname=host,
                host=address,
                port=self._ports.get(host, port),
                family=socket.AF_INET6 if ":" in address else socket.AF_INET,
                proto=0,
                flags=socket.AI_NUMERICHOST,
            )
        ]

    async def close(self) -> None:
        await self._default.close()


@dataclass(frozen=True)
class NetworkOptions:
    """Name mapping and CA trust shared by every client the harness opens toward the target."""

    resolve: Mapping[str, str] = field(default_factory=dict)
    ca_file: Path | None = None
    # SHA-256 of the server certificate's public key, base64: lets Chromium trust a local
    # certificate as valid (service workers refuse to register on a page with a TLS error).
    spki_sha256: tuple[str, ...] = ()
    ports: Mapping[str, int] = field(default_factory=dict)  # a name's connections go to this local port

    def ssl_context(self) -> ssl.SSLContext:
        return _ssl_context(self.ca_file)

    def connector(self, **kwargs: Any) -> aiohttp.TCPConnector:
        return aiohttp.TCPConnector(ssl=self.ssl_context(), resolver=MappedResolver(self.resolve, self.ports), **kwargs)

    def through(self, proxy_port: int, host: str) -> NetworkOptions:
        """The same options, with connections to `host` sent to a local proxy on `proxy_port`."""
        return dataclasses.replace(
            self, resolve={**self.resolve, host: "127.0.0.1"}, ports={**self.ports, host: proxy_port}
        )

    def session(self, **kwargs: Any) -> aiohttp.ClientSession:
        """An aiohttp session that resolves mapped names and trusts the configured CA."""
        return aiohttp.ClientSession(connector=self.connector(), **kwargs)

    def chromium_args(self) -> list[str]:
        args = []
        if self.resolve:
            rules = ",".join(f"MAP {host} {address}" for host, address in self.resolve.items())
            args.append(f"--host-resolver-rules={rules}")
        if self.spki_sha256:
            args.append(f"--ignore-certificate-errors-spki-list={','.join(self.spki_sha256)}")
        return args


@functools.lru_cache(maxsize=16)
def _ssl_context(ca_file: Path | None) -> ssl.SSLContext:
    """One context per CA: loading the CA for every client made a storm of 200 clients slow to start."""
    context = ssl.create_default_context()
    if ca_file is not None:
        context.load_verify_locations(cafile=str(ca_file))
    return context


def spki_sha256(cert_pem: bytes) -> str:
    """The base64 SHA-256 of a PEM certificate's SubjectPublicKeyInfo, as Chromium expects it."""
    cert = x509.load_pem_x509_certificate(cert_pem)
    der = cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


def normalize_socket_path(path: str) -> str:
    """The socket path as one form everywhere: a leading and a trailing slash (`/socket.io/`)."""
    stripped = path.strip().strip("/")
    return f"/{stripped}/" if stripped else "/"
