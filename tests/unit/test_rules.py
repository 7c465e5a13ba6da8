"""The Rules-language subset, against the requests a socket.io client makes."""

from __future__ import annotations

import pytest

from realtime_verify.checks.rules import SocketRequest, Tri, evaluate, matches_any, socket_requests

REQUESTS = socket_requests("app.example.com")
POLL = REQUESTS[0]


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ('http.request.uri.path contains "/socket.io"', Tri.TRUE),
        ('starts_with(http.request.uri.path, "/socket.io/")', Tri.TRUE),
        ('http.request.uri.path eq "/socket.io/"', Tri.TRUE),
        ('http.request.uri.path == "/api/"', Tri.FALSE),
        ('http.request.uri.path ne "/socket.io/"', Tri.FALSE),
        ('http.request.uri.path matches "^/socket\\\\.io/"', Tri.TRUE),
        ('http.request.uri.path ~ "^/api"', Tri.FALSE),
        ('http.request.uri.query contains "transport=polling"', Tri.TRUE),
        ('http.request.uri contains "EIO=4"', Tri.TRUE),
        ('http.host eq "app.example.com" and http.request.uri.path contains "/socket.io"', Tri.TRUE),
        ('http.host in {"app.example.com" "www.example.com"}', Tri.TRUE),
        ('http.request.method in {"POST" "PUT"}', Tri.FALSE),
        ('lower(http.request.uri.path) contains "/socket.io"', Tri.TRUE),
        ('ends_with(http.request.uri.path, ".php")', Tri.FALSE),
        ('not http.request.uri.path contains "/socket.io"', Tri.FALSE),
        ('(http.request.uri.path contains "/admin") or (http.request.uri.path contains "/socket.io")', Tri.TRUE),
        ('http.request.uri.path wildcard "/SOCKET.IO/*"', Tri.TRUE),
        ('http.request.uri.path strict wildcard "/SOCKET.IO/*"', Tri.FALSE),
        ('http.request.full_uri wildcard "https://app.example.com/socket.io/*"', Tri.TRUE),
        ("ssl", Tri.TRUE),
        ('http.request.uri.path contains r"/socket.io"', Tri.TRUE),
        # Outside the subset: unknown, and unknown propagates.
        ("cf.client.bot", Tri.UNKNOWN),
        ("ip.src in $office_ips", Tri.UNKNOWN),
        ('http.request.uri.path contains "/socket.io" and ip.src in {192.0.2.0/24}', Tri.UNKNOWN),
        ('http.request.uri.path contains "/api" and ip.src in {192.0.2.0/24}', Tri.FALSE),
        ('http.request.uri.path contains "/socket.io" or cf.threat_score gt 10', Tri.TRUE),
        ("cf.threat_score gt 10", Tri.UNKNOWN),
        ('any(http.request.headers["x"][*] eq "y")', Tri.UNKNOWN),
        ('http.request.uri.path contains "/socket.io" and', Tri.UNKNOWN),  # not parseable: review it
    ],
)
def test_expressions_against_a_polling_request(expression: str, expected: Tri) -> None:
    assert evaluate(expression, POLL) is expected


def test_a_rule_on_the_upgrade_only_matches_the_websocket_request() -> None:
    expression = 'http.request.uri.query contains "transport=websocket"'
    assert evaluate(expression, POLL) is Tri.FALSE
    assert matches_any(expression, REQUESTS) is Tri.TRUE
    assert matches_any('http.request.method eq "POST"', REQUESTS) is Tri.TRUE
    assert matches_any('http.request.uri.path contains "/wp-login"', REQUESTS) is Tri.FALSE


def test_custom_socket_path() -> None:
    requests = socket_requests("rt.example.com", "/ws/")
    assert matches_any('http.request.uri.path contains "/socket.io"', requests) is Tri.FALSE
    assert evaluate('http.host eq "rt.example.com"', SocketRequest("https://rt.example.com/ws/")) is Tri.TRUE
