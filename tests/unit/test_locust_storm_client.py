"""The Locust storm's client waits for the server's CONNECT on a reconnect as long as the watchers do.

python-socketio's reconnect loop calls connect() without wait_timeout (1 s by default), which made
every client's retries collapse a storm (bench/RESULTS.md, section 3). The client lives beside the
locustfile in a module that imports only python-socketio, so it is loaded here by path, without
Locust or gevent.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import socketio

from realtime_verify.watcher import RECONNECT_WAIT_S

SCENARIO = Path(__file__).resolve().parents[2] / "src" / "realtime_verify" / "faults" / "locust_scenario"


def storm_client_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("rv_storm_client", SCENARIO / "rv_storm_client.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def connects(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every call that reaches python-socketio's own Client.connect, with its keyword arguments."""
    calls: list[dict[str, Any]] = []

    def record(self: socketio.Client, url: str, **kwargs: Any) -> None:
        calls.append({"url": url, **kwargs})

    monkeypatch.setattr(socketio.Client, "connect", record)
    return calls


def test_the_librarys_reconnect_loop_gets_the_watchers_wait(connects: list[dict[str, Any]]) -> None:
    module = storm_client_module()
    assert module.RECONNECT_WAIT_S == RECONNECT_WAIT_S
    client = module.StormClient(reconnection=True, reconnection_delay=0.01, randomization_factor=0, handle_sigint=False)
    client.connection_url = "https://app.test"
    client._handle_reconnect()  # python-socketio's own loop: one attempt, which "succeeds" here
    (call,) = connects
    assert call["url"] == "https://app.test"
    assert call["wait_timeout"] == RECONNECT_WAIT_S


def test_a_first_connect_keeps_the_wait_it_asks_for(connects: list[dict[str, Any]]) -> None:
    client = storm_client_module().StormClient(reconnection=False, handle_sigint=False)
    client.connect("https://app.test", transports=["websocket"], wait_timeout=30)
    assert connects == [{"url": "https://app.test", "transports": ["websocket"], "wait_timeout": 30}]
