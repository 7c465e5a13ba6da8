"""Assembles the ASGI app: python-socketio in front of the Starlette REST API and page."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import socketio

from reference_app.api import Api, build_starlette
from reference_app.auth import Tokens
from reference_app.db import Database
from reference_app.realtime import Realtime
from reference_app.settings import Settings

logger = logging.getLogger("reference_app")


def create_app(settings: Settings | None = None) -> Any:
    """The ASGI app for `settings` (default: from the environment); seeds the test users."""
    settings = settings or Settings.from_env()
    db = Database(settings.database_path)
    for username, password in settings.users:
        db.ensure_user(username, password)
    tokens = Tokens(settings.secret_key, settings.token_ttl_s)
    realtime = Realtime(settings, db, tokens)
    starlette = build_starlette(Api(settings, db, tokens, realtime))

    @asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        if settings.faults:
            logger.warning("faults switched on: %s", ", ".join(sorted(settings.faults)))
        yield
        db.close()

    starlette.router.lifespan_context = lifespan
    asgi = socketio.ASGIApp(realtime.sio, other_asgi_app=starlette, socketio_path=settings.socket_path.strip("/"))
    asgi.realtime = realtime  # reachable from tests
    return asgi
