"""Probes taken once per run and judged by several checks."""

from __future__ import annotations

import pytest
import pytest_asyncio

from realtime_verify.audit.cloudflare import preload_sdk
from realtime_verify.catalogue import Check, Family
from realtime_verify.probes import Handshake, UpgradeProbe, fetch_handshake, probe_upgrade, site_origin
from realtime_verify.target import Target


def pytest_collection_finish(session: pytest.Session) -> None:
    """The Cloudflare SDK's first use costs about a second of imports: done while the stack starts."""
    checks = [marker.args[0] for item in session.items for marker in item.iter_markers("check")]
    if any(isinstance(check, Check) and check.family is Family.CF for check in checks):
        preload_sdk()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def origin_handshake(rv_target: Target) -> Handshake:
    """The polling handshake as a browser on the site sends it (with its Origin)."""
    profile = rv_target.profile
    return await fetch_handshake(profile, rv_target.network, origin=site_origin(profile))


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def upgrade_probe(rv_target: Target) -> UpgradeProbe:
    """One direct WebSocket connection to the socket path, with the site's Origin."""
    return await probe_upgrade(rv_target.profile, rv_target.network, site_origin(rv_target.profile))
