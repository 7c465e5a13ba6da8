"""The supervisor's control API (faults and restarts while connections are open) and its zone API.

    POST /edge/drop {"mode": "fin"|"rst"}   close every connection at the edge
    POST /edge/refuse {"seconds": N}        reset new connections for N s
    POST /edge/blackhole {"seconds": N}     hold all traffic for N s (a half-open link)
    POST /edge/resume, /edge/reset          end a black hole; back to healthy
    POST /edge/behaviour {...}              change EdgeBehaviour fields (latency_ms, challenge_socket...)
    POST /backend/restart {"app_version"}   a deploy: stop the app, start it again
    POST /backend/pause {"seconds": N}      freeze the app (SIGSTOP) for N s: its pings come late
                        {"start": T1, "until": T2}  ... from epoch time T1 to T2 (this machine's clock)
    POST /nginx/restart                     SIGTERM nginx, start it again
    GET|POST /status                        pids, connections, edge stats
    *    /client/v4/...                     the emulated Cloudflare zone (read-only, `zone.ZoneApi`)

Every fault loop is bounded: seconds must be in (0, 600].
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, fields
from typing import TYPE_CHECKING, Any

from aiohttp import web

from realtime_verify.errors import RealtimeVerifyError
from realtime_verify.stack.edge import EdgeBehaviour
from realtime_verify.stack.zone import PREFIX as ZONE_API_PREFIX

if TYPE_CHECKING:
    from realtime_verify.stack.supervisor import Supervisor

Handler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
MAX_FAULT_SECONDS = 600.0


def edge_overlays(behaviour: EdgeBehaviour) -> list[str]:
    """The zone scenarios that describe what the edge does: the zone reports its edge's behaviour."""
    overlays = []
    if behaviour.challenge_socket:
        overlays.append("challenge-rule")
    if behaviour.cache_socket:
        overlays.append("cache-rule")
    if not behaviour.websockets:
        overlays.append("websockets-off")
    return overlays


def control_app(supervisor: Supervisor) -> web.Application:
    """The aiohttp application the supervisor serves on a loopback port."""

    def edge() -> Any:
        assert supervisor.edge is not None, "the edge is started before the control API"
        return supervisor.edge

    async def status(payload: dict[str, Any]) -> dict[str, Any]:
        app, nginx = supervisor.app, supervisor.proxy.child if supervisor.proxy else None
        return {
            "edge": edge().status(),
            "app": {"pid": app.pid if app else 0, "alive": bool(app and app.alive)},
            "nginx": {"pid": nginx.pid if nginx else 0, "alive": bool(nginx and nginx.alive)},
        }

    async def drop(payload: dict[str, Any]) -> dict[str, Any]:
        mode = payload.get("mode", "fin")
        if mode not in ("fin", "rst"):
            raise ValueError("mode must be 'fin' or 'rst'")
        return {"dropped": edge().drop_all(mode)}

    async def refuse(payload: dict[str, Any]) -> dict[str, Any]:
        edge().refuse_for(_seconds(payload))
        return {"ok": True}

    async def blackhole(payload: dict[str, Any]) -> dict[str, Any]:
        edge().blackhole_for(_seconds(payload))
        return {"ok": True}

    async def resume(payload: dict[str, Any]) -> dict[str, Any]:
        edge().resume()
        return {"ok": True}

    async def behaviour(payload: dict[str, Any]) -> dict[str, Any]:
        known = {f.name for f in fields(EdgeBehaviour)}
        unknown = set(payload) - known
        if unknown:
            raise ValueError(f"unknown edge behaviour {sorted(unknown)}; known: {sorted(known)}")
        for key, value in payload.items():
            setattr(edge().behaviour, key, value)
        return {"behaviour": asdict(edge().behaviour)}

    async def reset(payload: dict[str, Any]) -> dict[str, Any]:
        edge().reset()
        return {"ok": True}

    async def restart_backend(payload: dict[str, Any]) -> dict[str, Any]:
        await supervisor.restart_backend(payload.get("app_version"))
        return {"ok": True, "pid": supervisor.app.pid if supervisor.app else 0}

    async def pause_backend(payload: dict[str, Any]) -> dict[str, Any]:
        if "until" not in payload:
            return {"ok": True, "starts_at": supervisor.pause_backend(_seconds(payload))}
        start, until = float(payload.get("start", time.time())), float(payload["until"])
        if until - time.time() > MAX_FAULT_SECONDS:
            raise ValueError(f"until is more than {MAX_FAULT_SECONDS:g} s away (fault loops are bounded)")
        return {"ok": True, "starts_at": supervisor.pause_backend(start=start, until=until)}

    async def restart_nginx(payload: dict[str, Any]) -> dict[str, Any]:
        await supervisor.restart_nginx()
        return {"ok": True, "pid": supervisor.proxy.pid if supervisor.proxy else 0}

    async def shutdown(payload: dict[str, Any]) -> dict[str, Any]:
        supervisor.request_stop()
        return {"ok": True}

    async def zone_api(request: web.Request) -> web.Response:
        status_code, body = supervisor.zone.answer(
            request.method,
            request.path.removeprefix(ZONE_API_PREFIX),
            request.query_string,
            request.headers.get("Authorization"),
        )
        return web.json_response(body, status=status_code)

    routes: dict[str, Handler] = {
        "/status": status,
        "/edge/drop": drop,
        "/edge/refuse": refuse,
        "/edge/blackhole": blackhole,
        "/edge/resume": resume,
        "/edge/behaviour": behaviour,
        "/edge/reset": reset,
        "/backend/restart": restart_backend,
        "/backend/pause": pause_backend,
        "/nginx/restart": restart_nginx,
        "/shutdown": shutdown,
    }
    app = web.Application()
    for path, handler in routes.items():
        app.router.add_post(path, _json(handler))
    app.router.add_get("/status", _json(status))
    app.router.add_route("*", ZONE_API_PREFIX + "{tail:.*}", zone_api)
    return app


def _json(handler: Handler) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def wrapped(request: web.Request) -> web.Response:
        payload = await request.json() if request.can_read_body else {}
        try:
            return web.json_response(await handler(payload or {}))
        except (RealtimeVerifyError, ValueError, TypeError, KeyError) as error:
            return web.json_response({"error": str(error)}, status=400)

    return wrapped


def _seconds(payload: dict[str, Any]) -> float:
    seconds = float(payload.get("seconds", 0))
    if not 0 < seconds <= MAX_FAULT_SECONDS:
        raise ValueError(f"seconds must be above 0 and at most {MAX_FAULT_SECONDS:g} (fault loops are bounded)")
    return seconds
