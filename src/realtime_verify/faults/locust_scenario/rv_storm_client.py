"""The Locust storm's Socket.IO client: python-socketio's sync client, with a reconnect that waits.

A module of its own beside locustfile.py (Locust puts the locustfile's folder on sys.path while it
imports it), importing only python-socketio, so that the suite's own tests can import it without
Locust or gevent.

python-socketio 5.x's `Client._handle_reconnect` calls `connect()` without `wait_timeout`, so every
reconnect attempt gives the server 1 s (`connect`'s default) to answer the namespace CONNECT, then
drops the fresh connection and backs off. Under a storm of many clients reconnecting at once the
stack takes longer than that, so each attempt is thrown away just before it would have succeeded
and the retries make the storm worse (bench/RESULTS.md, section 3: the same collapse in the suite's
async watchers). A browser's socket.io-client waits 20 s (its `timeout` option); the suite's
watchers wait `realtime_verify.watcher.RECONNECT_WAIT_S`, and the storm's clients wait the same,
so that the in-process storm and the Locust storm judge one behaviour.
"""

from __future__ import annotations

from typing import Any

import socketio

# How long a reconnect waits for the server's CONNECT: as realtime_verify.watcher.RECONNECT_WAIT_S
# (this module cannot import the suite: it runs in Locust's venv). A browser waits 20 s.
RECONNECT_WAIT_S = 10.0


class StormClient(socketio.Client):  # type: ignore[misc]
    """python-socketio's sync client whose connects, reconnects included, wait RECONNECT_WAIT_S by default."""

    def connect(self, *args: Any, wait_timeout: float = RECONNECT_WAIT_S, **kwargs: Any) -> None:
        # The library's reconnect loop passes no wait_timeout: this default is what it gets.
        super().connect(*args, wait_timeout=wait_timeout, **kwargs)
