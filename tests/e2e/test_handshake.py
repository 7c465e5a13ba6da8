"""HS-*: live probes of the socket endpoint, over HTTP and one raw WebSocket, no browser."""

from __future__ import annotations

from pathlib import Path

import pytest

from realtime_verify import catalogue as c
from realtime_verify.adapter import AppAdapter, WatcherLogin
from realtime_verify.audit.nginx import socket_read_timeout
from realtime_verify.checks import handshake as hs
from realtime_verify.checks.nginx import suggested_read_timeout
from realtime_verify.errors import ConnectFailed
from realtime_verify.probes import Handshake, UpgradeProbe, site_origin
from realtime_verify.run import CheckRecord
from realtime_verify.session import AppSession
from realtime_verify.target import Target


@pytest.mark.check(c.HS_001)
def test_polling_handshake_offers_websocket(
    origin_handshake: Handshake, rv_target: Target, rv_check: CheckRecord
) -> None:
    rv_check.record(hs.judge_open_packet(origin_handshake, site_origin(rv_target.profile)))


@pytest.mark.check(c.HS_002)
def test_ping_fits_edge_and_nginx_timeouts(rv_target: Target, rv_check: CheckRecord) -> None:
    profile = rv_target.profile
    nginx_read, where = profile.budgets.nginx_read_timeout_s, "budgets.nginx_read_timeout_s"
    if nginx_read is None and profile.config_files.nginx:
        found = socket_read_timeout(
            Path(profile.config_files.nginx),
            profile.socket_path,
            nginx_root=Path(profile.config_files.nginx_root) if profile.config_files.nginx_root else None,
        )
        if found is not None:
            nginx_read, where = found
    handshake = rv_target.handshake
    silence = (handshake.ping_interval_s or 0) + (handshake.ping_timeout_s or 0)
    rv_check.record(
        hs.judge_ping_fits_timeouts(
            handshake,
            edge_idle_s=profile.budgets.edge_idle_timeout_s if profile.target.behind_cloudflare else None,
            nginx_read_s=nginx_read,
            nginx_where=where,
            suggested_read_timeout_s=suggested_read_timeout(silence),
        )
    )


@pytest.mark.check(c.HS_003)
def test_websocket_upgrade_succeeds(upgrade_probe: UpgradeProbe, rv_target: Target, rv_check: CheckRecord) -> None:
    rv_check.record(hs.judge_upgrade(upgrade_probe, site_origin(rv_target.profile)))


@pytest.mark.check(c.HS_004)
def test_socket_path_not_challenged(rv_target: Target, upgrade_probe: UpgradeProbe, rv_check: CheckRecord) -> None:
    rv_check.record(hs.judge_not_challenged(rv_target.handshake, upgrade_probe))


@pytest.mark.check(c.HS_005)
def test_socket_path_not_cached(rv_target: Target, upgrade_probe: UpgradeProbe, rv_check: CheckRecord) -> None:
    rv_check.record(hs.judge_not_cached(rv_target.handshake, upgrade_probe))


@pytest.mark.check(c.HS_006)
def test_cf_ray_present(rv_target: Target, upgrade_probe: UpgradeProbe, rv_check: CheckRecord) -> None:
    rv_check.record(hs.judge_cf_ray(rv_target.handshake, upgrade_probe))


@pytest.mark.check(c.HS_007)
async def test_socket_refuses_missing_or_forged_credentials(
    rv_app: AppSession, rv_adapter: AppAdapter, rv_check: CheckRecord
) -> None:
    attempts = []
    for label, login in (("no credentials", WatcherLogin()), ("forged credentials", await rv_adapter.forged_login())):
        watcher = await rv_app.watcher(None, login=login, connect=False, name=label)
        try:
            await watcher.connect(timeout_s=5)
        except ConnectFailed as error:
            attempts.append(hs.CredentialAttempt(label, False, error.refused, error.reason or str(error)))
            continue
        attempts.append(hs.CredentialAttempt(label, True, False, "", watcher.transport))
    rv_check.record(hs.judge_refusals(attempts))
