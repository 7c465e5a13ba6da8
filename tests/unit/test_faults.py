from __future__ import annotations

import pytest

from realtime_verify.errors import UsageError
from realtime_verify.faults import FAULTS, in_layer, resolve_faults
from realtime_verify.nginx_conf import NGINX_FAULTS
from reference_app.faults import APP_FAULTS


def test_unknown_fault_suggests_the_closest_name() -> None:
    with pytest.raises(UsageError, match="Did you mean 'no-broadcast'"):
        resolve_faults(["no-brodcast"])


def test_resolution_keeps_catalogue_order() -> None:
    names = [f.name for f in resolve_faults(["no-pong", "nginx-no-upgrade"])]
    assert names == ["nginx-no-upgrade", "no-pong"]


def test_every_layer_knows_its_faults() -> None:
    faults = list(FAULTS.values())
    # The harness lists the app's faults, and the app accepts exactly those (it validates RA_FAULTS).
    assert in_layer(faults, "app") == set(APP_FAULTS)
    assert in_layer(faults, "nginx") == set(NGINX_FAULTS)
    assert in_layer(faults, "edge") == {
        "edge-challenge-socket",
        "edge-cache-socket",
        "edge-dns-only",
        "edge-websockets-off",
    }


def test_may_break_never_overlaps_breaks() -> None:
    for fault in FAULTS.values():
        assert not set(fault.breaks) & set(fault.may_break), fault.name
        assert not set(fault.breaks) & set(fault.warns), fault.name
