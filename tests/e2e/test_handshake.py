"""Live probes of the socket endpoint: HTTP and one raw WebSocket, no browser (HS-*)."""

from __future__ import annotations

from pathlib import Path

import pytest
import socketio

from realtime_verify.checks import handshake as hs
from realtime_verify.errors import CheckFailure
from realtime_verify.nginx_conf import socket_read_timeout
from realtime_verify.plugin import CheckMetrics, ConnectWatcher
from realtime_verify.target import Handshake, Target, site_origin

pytestmark = [pytest.mark.smoke, pytest.mark.signoff, pytest.mark.nightly]


@pytest.mark.check("HS-001")
def test_polling_handshake_offers_websocket(
    origin_handshake: Handshake, rv_target: Target, rv_metrics: CheckMetrics
) -> None:
    """The polling handshake returns an EIO 4 open packet offering websocket."""
    rv_metrics.values.update(hs.check_open_packet(origin_handshake, site_origin(rv_target.profile)))


@pytest.mark.check("HS-002")
def test_ping_fits_edge_and_nginx_timeouts(rv_target: Target, rv_metrics: CheckMetrics) -> None:
    """pingInterval + pingTimeout stays below the edge's idle timeout and nginx's read timeout."""
    profile = rv_target.profile
    nginx_read = profile.budgets.nginx_read_timeout_s
    where = "budgets.nginx_read_timeout_s"
    if nginx_read is None and profile.config_files.nginx:
        found = socket_read_timeout(Path(profile.config_files.nginx), profile.socket_path)
        if found is not None:
            nginx_read, line = found
            where = f"{Path(profile.config_files.nginx).name}:{line}"
    edge_idle = profile.budgets.edge_idle_timeout_s if profile.target.behind_cloudflare else None
    rv_metrics.values.update(
        hs.check_ping_fits_timeouts(
            rv_target.handshake, edge_idle_s=edge_idle, nginx_read_s=nginx_read, nginx_where=where
        )
    )


@pytest.mark.check("HS-003")
def test_websocket_upgrade_succeeds(upgrade_probe: hs.UpgradeProbe, rv_metrics: CheckMetrics) -> None:
    """A direct WebSocket connection to the socket path upgrades (101) through the edge."""
    rv_metrics.values.update(hs.check_upgrade(upgrade_probe))


@pytest.mark.check("HS-004")
def test_socket_path_not_challenged(rv_target: Target, upgrade_probe: hs.UpgradeProbe) -> None:
    """The socket path is not challenged (no cf-mitigated, no challenge page)."""
    hs.check_not_challenged(rv_target.handshake, upgrade_probe)


@pytest.mark.check("HS-005")
def test_socket_path_not_cached(rv_target: Target, upgrade_probe: hs.UpgradeProbe, rv_metrics: CheckMetrics) -> None:
    """The socket path is not cached (cf-cache-status DYNAMIC, BYPASS or absent)."""
    rv_metrics.values.update(hs.check_not_cached(rv_target.handshake, upgrade_probe))


@pytest.mark.check("HS-006")
def test_cf_ray_present(rv_target: Target, upgrade_probe: hs.UpgradeProbe, rv_metrics: CheckMetrics) -> None:
    """cf-ray is present on the socket path when the target is declared behind Cloudflare."""
    if not rv_target.profile.target.behind_cloudflare:
        pytest.skip("target.behind_cloudflare is false")
    rv_metrics.values.update(hs.check_cf_ray(rv_target.handshake, upgrade_probe))


@pytest.mark.check("HS-007")
async def test_socket_refuses_missing_or_forged_credentials(rv_target: Target, connect_watcher: ConnectWatcher) -> None:
    """A socket connection without valid credentials is refused."""
    if rv_target.profile.auth.mode == "none":
        pytest.skip("auth.mode is none: the target declares no socket authentication")
    key = rv_target.profile.auth.socket_auth_key
    for label, auth in (("no credentials", None), ("a forged token", {key: "forged.rv.token"})):
        watcher = await connect_watcher(None, auth=auth, connect=False)
        try:
            await watcher.connect(timeout_s=5)
        except socketio.exceptions.ConnectionError as error:
            # A refusal by the server is a namespace-level CONNECT_ERROR; anything else (an HTTP
            # error, a challenge, a timeout) failed before authentication could be judged.
            if "namespaces failed to connect" not in str(error):
                raise CheckFailure(
                    "HS-007",
                    f"could not verify: the connection with {label} failed before authentication ({error})",
                    fix="make the socket path reachable first (see HS-001 and HS-003)",
                ) from None
            continue
        raise CheckFailure(
            "HS-007",
            f"a socket connection with {label} was accepted (transport {watcher.transport})",
            fix="refuse the connection in the connect handler when the token is missing or invalid"
            " (python-socketio: raise ConnectionRefusedError('authentication failed'))",
        )
