from __future__ import annotations

from pathlib import Path

import crossplane
import pytest

from realtime_verify.nginx_conf import (
    nginx_time,
    parse_duration,
    render_app_conf,
    socket_locations,
    socket_read_timeout,
)
from realtime_verify.supervisor import reference_app_dir

REFERENCE = reference_app_dir() / "deploy" / "nginx.prod.conf"


def render(tmp_path: Path, faults: frozenset[str] = frozenset()) -> list[dict[str, object]]:
    text = render_app_conf(
        REFERENCE,
        listen_port=18080,
        upstream=("127.0.0.1", 18000),
        read_timeout_s=10,
        ping_interval_s=3,
        ping_timeout_s=3,
        faults=faults,
    )
    path = tmp_path / "app.conf"
    path.write_text(text)
    payload = crossplane.parse(str(path), check_ctx=False, single=True)
    assert payload["status"] == "ok"
    return payload["config"][0]["parsed"]


def headers(location: dict[str, object]) -> dict[str, str]:
    return {d["args"][0].lower(): d["args"][1] for d in location["block"] if d["directive"] == "proxy_set_header"}  # type: ignore[index,union-attr]


def test_rendering_rewrites_ports_and_timers_only(tmp_path: Path) -> None:
    parsed = render(tmp_path)
    text = crossplane.build(parsed)
    assert "listen 127.0.0.1:18080;" in text
    assert "server 127.0.0.1:18000;" in text
    location = socket_locations(parsed, "/socket.io/")[0]
    assert headers(location)["upgrade"] == "$http_upgrade"
    assert socket_read_timeout(tmp_path / "app.conf", "/socket.io/")[0] == 10  # type: ignore[index]


def test_nginx_faults_edit_the_socket_location(tmp_path: Path) -> None:
    parsed = render(tmp_path, frozenset({"nginx-no-upgrade", "nginx-host-without-port", "nginx-short-read-timeout"}))
    location = socket_locations(parsed, "/socket.io/")[0]
    assert "upgrade" not in headers(location)
    assert "connection" not in headers(location)
    assert headers(location)["host"] == "$host"
    assert socket_read_timeout(tmp_path / "app.conf", "/socket.io/")[0] == 4.5  # type: ignore[index]


@pytest.mark.parametrize(
    ("text", "seconds"), [("75s", 75), ("2m", 120), ("1m30s", 90), ("500ms", 0.5), ("120", 120), ("1h", 3600)]
)
def test_nginx_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_nginx_time_never_writes_fractions() -> None:
    assert nginx_time(10) == "10s"
    assert nginx_time(4.5) == "4500ms"
    with pytest.raises(ValueError, match="not an nginx time"):
        parse_duration("4.5s")


def test_read_timeout_is_inherited_from_the_server_block(tmp_path: Path) -> None:
    conf = tmp_path / "inherit.conf"
    conf.write_text(
        "server {\n listen 80;\n proxy_read_timeout 30s;\n"
        " location /socket.io/ { proxy_pass http://app; }\n"
        " location /other/ { proxy_read_timeout 999s; }\n}\n"
    )
    assert socket_read_timeout(conf, "/socket.io/") == (30, 3)
    conf.write_text("server {\n listen 80;\n location /socket.io/ { proxy_pass http://app; }\n}\n")
    assert socket_read_timeout(conf, "/socket.io/") == (60, 3)  # nginx's default
