"""Rendering the reference nginx conf for the embedded stack: only ports, the socket path, timers and
fault edits change, and the audit's nginx reader reads back what was rendered."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import crossplane
import pytest

from realtime_verify.audit.nginx import parse_duration, socket_read_timeout
from realtime_verify.stack.nginx import (
    NGINX_EDITS,
    nginx_time,
    render_app_conf,
    render_main_conf,
    socket_locations,
)
from realtime_verify.stack.supervisor import reference_app_dir

REFERENCE = reference_app_dir() / "deploy" / "nginx.prod.conf"
Directives = list[dict[str, Any]]


def render(tmp_path: Path, edits: tuple[str, ...] = (), socket_path: str = "/socket.io/") -> tuple[Directives, Path]:
    text = render_app_conf(
        REFERENCE,
        listen_port=18080,
        upstream=("127.0.0.1", 18000),
        read_timeout_s=10,
        ping_interval_s=3,
        ping_timeout_s=3,
        socket_path=socket_path,
        edits=edits,
    )
    path = tmp_path / "app.conf"
    path.write_text(text)
    payload = crossplane.parse(str(path), check_ctx=False, single=True)
    assert payload["status"] == "ok", payload["errors"]
    return payload["config"][0]["parsed"], path


def headers(location: dict[str, Any]) -> dict[str, str]:
    return {d["args"][0].lower(): d["args"][1] for d in location["block"] if d["directive"] == "proxy_set_header"}


def directive(location: dict[str, Any], name: str) -> list[str] | None:
    return next((d["args"] for d in location["block"] if d["directive"] == name), None)


def shape(directives: Directives) -> list[Any]:
    """The conf without the values rendering may change: what must stay as the reference wrote it."""
    changed = {"listen", "server", "proxy_read_timeout", "proxy_send_timeout"}
    return [
        (d["directive"], None if d["directive"] in changed else d["args"], shape(d.get("block", [])))
        for d in directives
    ]


def test_rendering_rewrites_ports_and_timers_only(tmp_path: Path) -> None:
    parsed, path = render(tmp_path)
    text = crossplane.build(parsed)
    assert "listen 127.0.0.1:18080;" in text
    assert "server 127.0.0.1:18000;" in text
    reference = crossplane.parse(str(REFERENCE), check_ctx=False, single=True, comments=False)["config"][0]["parsed"]
    assert shape(parsed) == shape(reference), "every other directive is the reference conf's own"
    location = socket_locations(parsed, "/socket.io/")[0]
    assert headers(location)["upgrade"] == "$http_upgrade"
    assert directive(location, "proxy_http_version") == ["1.1"]
    assert socket_read_timeout(path, "/socket.io/") == (10, f"{path}:{_line(path, 'proxy_read_timeout')}")


def _line(path: Path, needle: str) -> int:
    return next(n for n, line in enumerate(path.read_text().splitlines(), start=1) if needle in line)


def test_the_socket_location_follows_the_profiles_socket_path(tmp_path: Path) -> None:
    parsed, path = render(tmp_path, socket_path="/rt/")
    assert socket_locations(parsed, "/socket.io/") == []
    location = socket_locations(parsed, "/rt/")[0]
    assert location["args"] == ["/rt/"]
    assert socket_read_timeout(path, "/rt/") is not None


@pytest.mark.parametrize("socket_path", ["/socket.io/", "/rt/"])
def test_nginx_fault_edits_change_the_socket_location(tmp_path: Path, socket_path: str) -> None:
    parsed, path = render(tmp_path, ("no-upgrade", "http-1.0", "host-without-port", "short-read-timeout"), socket_path)
    location = socket_locations(parsed, socket_path)[0]
    assert "upgrade" not in headers(location)
    assert "connection" not in headers(location)
    assert directive(location, "proxy_http_version") is None
    assert headers(location)["host"] == "$host"
    found = socket_read_timeout(path, socket_path)
    assert found is not None
    assert found[0] == 3.9, (
        "between pingInterval (3 s) and pingInterval + pingTimeout (6 s), below FT-006's late ping (4.5 s)"
    )


@pytest.mark.parametrize("edit", sorted(NGINX_EDITS))
def test_each_edit_renders_a_conf_nginx_can_parse(tmp_path: Path, edit: str) -> None:
    healthy, _ = render(tmp_path)
    parsed, _ = render(tmp_path, (edit,))
    assert parsed != healthy, f"{edit} changed nothing"


def test_the_main_conf_keeps_everything_under_the_prefix(tmp_path: Path) -> None:
    text = render_main_conf(tmp_path, tmp_path / "app.conf")
    assert "daemon off;" in text
    assert f"pid {tmp_path / 'nginx.pid'};" in text
    assert f"include {tmp_path / 'app.conf'};" in text
    for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"):
        assert f"{kind}_temp_path {tmp_path / 'temp' / kind};" in text


def test_nginx_time_never_writes_fractions() -> None:
    assert nginx_time(10) == "10s"
    assert nginx_time(4.5) == "4500ms"
    assert parse_duration(nginx_time(4.5)) == 4.5


@pytest.mark.parametrize(
    ("text", "seconds"), [("75s", 75), ("2m", 120), ("1m30s", 90), ("500ms", 0.5), ("120", 120), ("1h", 3600)]
)
def test_nginx_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


def test_a_fraction_is_not_an_nginx_time() -> None:
    with pytest.raises(ValueError, match="not an nginx time"):
        parse_duration("4.5s")
