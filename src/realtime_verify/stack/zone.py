"""The one fake Cloudflare API v4: a zone's read endpoints, answered from scenario files. Read-only.

`zones/healthy-zone.json` holds a complete, healthy zone in Cloudflare's envelope (`success`,
`errors`, `messages`, `result`); every other file there is a scenario that replaces some of its
responses. Placeholders (`{zone_id}`, `{zone_name}`, `{site_host}`, `{socket_path}`,
`{socket_prefix}`) are filled in, so one scenario serves the embedded stack (zone `app.test`) and
the tests (zone `example.com`) alike.

`ZoneApi` is the fake itself, transport-free; the embedded stack mounts it in its control server,
and `serve_zone_api()` runs it on a loopback port for tests. Every request is recorded, so tests can
prove that the audit only reads. Any write is refused with 405.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

SCENARIOS = Path(__file__).parent / "zones"
BASE_SCENARIO = "healthy-zone"
PREFIX = "/client/v4"
FIXTURE_ZONE_ID = "023e105f4ecef8ad9ca31a8372d0c353"

Envelope = dict[str, Any]


def _error(status: int, code: int, message: str) -> tuple[int, Envelope]:
    return status, {"success": False, "errors": [{"code": code, "message": message}], "messages": [], "result": None}


def scenario_names() -> list[str]:
    return sorted(path.stem for path in SCENARIOS.glob("*.json"))


def load_scenario(name: str, placeholders: dict[str, str]) -> dict[str, Any]:
    """One scenario's responses ("GET /zones/..." → {status, body}) with the placeholders filled."""
    path = SCENARIOS / f"{name}.json"
    if not path.is_file():
        raise ValueError(f"unknown zone scenario {name!r}; known: {', '.join(scenario_names())}")
    text = path.read_text()
    for key, value in placeholders.items():
        text = text.replace("{" + key + "}", value)
    responses: dict[str, Any] = json.loads(text)["responses"]
    return responses


@dataclass
class ZoneApi:
    """Answers Cloudflare API requests for one zone: the base scenario with overlays on top.

    `overlays` may be a callable, so that the embedded stack's zone follows what its edge does.
    """

    token: str | None = None  # when set, any other bearer token is refused (401), as Cloudflare does
    zone_id: str = FIXTURE_ZONE_ID
    zone_name: str = "example.com"
    site_host: str = "app.example.com"
    socket_path: str = "/socket.io/"
    overlays: Sequence[str] | Callable[[], Sequence[str]] = ()
    status_override: int | None = None  # answer everything with this error (refused token, outage)
    requests: list[tuple[str, str]] = field(default_factory=list)

    def responses(self) -> dict[str, Any]:
        placeholders = {
            "zone_id": self.zone_id,
            "zone_name": self.zone_name,
            "site_host": self.site_host,
            "socket_path": self.socket_path,
            "socket_prefix": self.socket_path.rstrip("/"),
        }
        overlays = self.overlays() if callable(self.overlays) else self.overlays
        responses = load_scenario(BASE_SCENARIO, placeholders)
        for name in overlays:
            responses.update(load_scenario(name, placeholders))
        return responses

    def answer(self, method: str, path: str, query: str = "", authorization: str | None = None) -> tuple[int, Envelope]:
        """The status and JSON body Cloudflare would send for `method path?query`."""
        self.requests.append((method, path + (f"?{query}" if query else "")))
        if method != "GET":
            return _error(405, 10405, "this emulated zone is read-only, and realtime-verify never writes")
        if self.status_override is not None:
            return _error(self.status_override, 10000, "Authentication error")
        if self.token is not None and authorization != f"Bearer {self.token}":
            return _error(401, 10000, "Authentication error")
        found = self.responses().get(f"{method} {path}")
        if found is None:
            return _error(404, 7003, "Could not route to the requested path")
        status, body = int(found["status"]), found["body"]
        if "page=" in query and "page=1" not in query.split("&"):
            body = {**body, "result": []}  # past the last page of a list
        return status, body


@contextmanager
def serve_zone_api(api: ZoneApi) -> Iterator[str]:
    """Serve `api` on a free loopback port; yields the SDK's base_url (`http://127.0.0.1:N/client/v4`)."""

    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            path, _, query = self.path.partition("?")
            status, body = api.answer(self.command, path.removeprefix(PREFIX), query, self.headers.get("Authorization"))
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{PREFIX}"
    finally:
        server.shutdown()
        server.server_close()
