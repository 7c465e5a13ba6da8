"""Bench-only what-ifs for the edge emulator, without touching src/ (bench/scale.py --what-if).

bench/scale.py puts this folder on PYTHONPATH only while it starts the embedded stack, so only the
stack's processes (the supervisor, which runs the edge, and its children) import it; and each change
acts only when its variable is set:

RV_WHATIF_EDGE_BACKLOG=N    asyncio.start_server listens with backlog N unless the caller gives one
                            (the edge now asks for 4096 itself, so this changes nothing there)
RV_WHATIF_SSL_BUFFER_KB=K   asyncio's SSLProtocol read buffer is K KiB instead of 256 KiB per connection
"""

from __future__ import annotations

import functools
import os
from typing import Any

_backlog = os.environ.get("RV_WHATIF_EDGE_BACKLOG")
_buffer_kb = os.environ.get("RV_WHATIF_SSL_BUFFER_KB")

if _backlog:
    import asyncio

    _start_server = asyncio.start_server

    @functools.wraps(_start_server)
    async def _start_server_with_backlog(*args: Any, **kwargs: Any) -> Any:
        kwargs.setdefault("backlog", int(_backlog or 100))
        return await _start_server(*args, **kwargs)

    asyncio.start_server = _start_server_with_backlog

if _buffer_kb:
    from asyncio import sslproto

    sslproto.SSLProtocol.max_size = int(_buffer_kb) * 1024
