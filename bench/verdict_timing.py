"""A pytest plugin for bench/verdict.py: the run's own timestamps, written next to its summary.json.

Loaded only by the benchmark (`realtime-verify run ... -p verdict_timing`, with bench/ on PYTHONPATH);
the suite and src/ are untouched. It records, on one clock (time.time(), epoch seconds):

- when pytest configured, the session started and ended;
- each expensive fixture's setup (rv_target: the embedded stack and the preflight; rv_adapter: the
  logins; rv_browser: Playwright and Chromium);
- each check's setup, call and teardown;
- each page a check opened: new context, `adapter.open` (goto + login), `adapter.wait_connected`,
  by wrapping those methods at run time (timing only: arguments and results pass through).

The file is $RV_BENCH_TIMING (JSON), written at pytest_unconfigure.
"""

from __future__ import annotations

import functools
import json
import os
import time
from collections.abc import Awaitable, Callable, Generator
from pathlib import Path
from typing import Any

import pytest

from realtime_verify.adapter.contract import ContractAdapter
from realtime_verify.session import AppSession

FIXTURES = ("rv_target", "rv_adapter", "rv_browser")

_record: dict[str, Any] = {"fixtures": {}, "items": {}, "pages": [], "marks": {}}


def _mark(name: str) -> None:
    _record["marks"][name] = time.time()


def _timed(owner: type, name: str, label: str) -> None:
    """Wrap owner.name (a coroutine method) so each call appends (label, start, end) to the open page."""
    original: Callable[..., Awaitable[Any]] = getattr(owner, name)

    @functools.wraps(original)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        started = time.time()
        try:
            return await original(*args, **kwargs)
        finally:
            if _record["pages"]:
                _record["pages"][-1].setdefault(label, []).append([started, time.time()])

    setattr(owner, name, wrapper)


def _timed_page() -> None:
    original = AppSession.page

    @functools.wraps(original)
    async def page(self: AppSession, role: str, *args: Any, **kwargs: Any) -> Any:
        entry: dict[str, Any] = {"role": role, "item": _record["marks"].get("current_item", "")}
        _record["pages"].append(entry)
        entry["start"] = time.time()
        try:
            return await original(self, role, *args, **kwargs)
        finally:
            entry["end"] = time.time()

    AppSession.page = page  # type: ignore[method-assign]


def pytest_configure(config: pytest.Config) -> None:
    _mark("configure")
    _timed_page()
    _timed(ContractAdapter, "open", "open")
    _timed(ContractAdapter, "wait_connected", "wait_connected")


def pytest_sessionstart(session: pytest.Session) -> None:
    _mark("sessionstart")


def pytest_collection_finish(session: pytest.Session) -> None:
    _mark("collected")


@pytest.hookimpl(wrapper=True)
def pytest_fixture_setup(
    fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
) -> Generator[None, Any, Any]:
    started = time.time()
    try:
        return (yield)
    finally:
        if fixturedef.argname in FIXTURES:
            _record["fixtures"][fixturedef.argname] = [started, time.time()]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Generator[None, Any, Any]:
    _record["marks"]["current_item"] = item.nodeid
    return (yield)


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    entry = _record["items"].setdefault(report.nodeid, {})
    entry[report.when] = [report.start, report.stop]
    entry.setdefault("outcome", {})[report.when] = report.outcome


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    _mark("sessionfinish")


def pytest_unconfigure(config: pytest.Config) -> None:
    _mark("unconfigure")
    target = os.environ.get("RV_BENCH_TIMING")
    if target:
        Path(target).write_text(json.dumps(_record, indent=1) + "\n")
