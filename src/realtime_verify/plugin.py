"""The pytest plugin: options, markers, fixtures, artifacts and reports. Thin on purpose.

Fixtures, from expensive (once per session) to cheap (per test):

    rv_settings        the resolved options and target profile
    rv_target          the target, ready: the embedded stack started, the preflight passed
    rv_browser         one Chromium for the whole run
    rv_run             run-wide state: markers, synthetic data to clean up, fail-fast memory
    open_app           factory: a new browser context + page, logged in, connected
    connect_watcher    factory: a python-socketio watcher client, logged in
    rv_metrics         per-test metrics and latency series, carried into the reports
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Generator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Browser, BrowserContext, async_playwright

from realtime_verify.browser import find_chromium, instrumentation_script, launch_chromium
from realtime_verify.config import Profile, describe, parse_overrides, profile_from_target_option
from realtime_verify.errors import (
    EXIT_USAGE,
    RealtimeVerifyError,
    UsageError,
    WaitTimeout,
)
from realtime_verify.faults import resolve_faults
from realtime_verify.metrics import LatencySeries, Markers, format_table
from realtime_verify.pages import AppPage
from realtime_verify.reporting.redact import Redactor
from realtime_verify.reporting.summary import CheckResult, RunReport, write_reports
from realtime_verify.stack import StackConfig
from realtime_verify.target import Target, prepare_target
from realtime_verify.watcher import Watcher

PROFILES = ("smoke", "signoff", "nightly")
ARTIFACT_MODES = ("on", "off", "retain-on-failure")
SCREENSHOT_MODES = ("on", "off", "only-on-failure")
CONNECT_TIMEOUT_S = 10.0


@dataclass
class RunSettings:
    """The options of one run, resolved once."""

    profile: Profile
    run_profile: str
    browser_path: str | None
    headed: bool
    tracing: str
    video: str
    screenshot: str
    output: Path
    faults: tuple[str, ...]
    started: float = field(default_factory=time.time)


@dataclass
class RunState:
    """What tests share within a run."""

    markers: Markers
    redactor: Redactor
    results: list[CheckResult] = field(default_factory=list)
    page_connect_failure: str | None = None
    cleanups: list[Callable[[], Awaitable[None]]] = field(default_factory=list)
    target: Target | None = None
    browser_version: str = ""
    checks_selected: int = 0
    abort: RealtimeVerifyError | None = None
    session_values: dict[str, Any] = field(default_factory=dict)
    reports: list[Path] = field(default_factory=list)


@dataclass
class CheckMetrics:
    """Per-test numbers: latency series and plain values, shown in every report."""

    series: dict[str, LatencySeries] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # a passed check with these reports "warning"

    def latency(self, name: str) -> LatencySeries:
        return self.series.setdefault(name, LatencySeries(name))


SETTINGS = pytest.StashKey[RunSettings]()
STATE = pytest.StashKey[RunState]()
METRICS = pytest.StashKey[CheckMetrics]()
FAILED = pytest.StashKey[bool]()


# Options -----------------------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("realtime-verify", "realtime-verify: verify a Socket.IO real-time layer")
    group.addoption(
        "--target",
        default=None,
        help="a target profile (.toml) or a base URL; default: the embedded reference stack",
    )
    group.addoption(
        "--profile",
        default=None,
        choices=PROFILES,
        help="which checks run (default: ini rv_profile, signoff)",
    )
    group.addoption(
        "--browser-path",
        default=None,
        help="Chromium to launch (else $RV_BROWSER_PATH, Playwright's, the system's)",
    )
    group.addoption("--headed", action="store_true", default=False, help="show the browser windows")
    group.addoption("--tracing", default="off", choices=ARTIFACT_MODES, help="Playwright traces (default: off)")
    group.addoption("--video", default="off", choices=ARTIFACT_MODES, help="record videos (default: off)")
    group.addoption(
        "--screenshot",
        default="only-on-failure",
        choices=SCREENSHOT_MODES,
        help="page screenshots (default: only-on-failure)",
    )
    group.addoption("--output", default=None, help="where reports and artifacts go (default: reports)")
    group.addoption(
        "--check",
        action="append",
        default=[],
        dest="rv_checks",
        metavar="ID",
        help="run only these checks: an ID (RT-002) or a family (RT); repeatable",
    )
    group.addoption(
        "--fault",
        action="append",
        default=[],
        metavar="NAME",
        help="switch on a reference-app fault (embedded stack only; repeatable)",
    )
    group.addoption(
        "--set",
        action="append",
        default=[],
        dest="rv_set",
        metavar="SECTION.KEY=VALUE",
        help="override one profile setting (repeatable)",
    )
    parser.addini("rv_profile", "default check profile: smoke, signoff or nightly", default="signoff")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "check(id, title=None): the check (e.g. RT-002) a test verifies")
    for name in PROFILES:
        config.addinivalue_line("markers", f"{name}: part of the {name} profile")
    try:
        settings = _resolve_settings(config)
    except UsageError as error:
        pytest.exit(f"realtime-verify: {error}", returncode=EXIT_USAGE)
    config.stash[SETTINGS] = settings
    config.stash[STATE] = RunState(Markers(), Redactor(settings.profile.secret_values()))


def _resolve_settings(config: pytest.Config) -> RunSettings:
    overrides = parse_overrides(config.getoption("rv_set"))
    profile = profile_from_target_option(config.getoption("target"), overrides=overrides)
    faults = tuple(config.getoption("fault"))
    if faults and not profile.embedded:
        raise UsageError("--fault switches faults of the embedded reference stack; it cannot apply to a --target")
    resolve_faults(faults)
    output = config.getoption("output") or os.environ.get("RV_OUTPUT") or "reports"
    return RunSettings(
        profile=profile,
        run_profile=config.getoption("profile") or config.getini("rv_profile"),
        browser_path=config.getoption("browser_path"),
        headed=config.getoption("headed"),
        tracing=config.getoption("tracing"),
        video=config.getoption("video"),
        screenshot=config.getoption("screenshot"),
        output=Path(output),
        faults=faults,
    )


def pytest_report_header(config: pytest.Config) -> list[str]:
    settings = config.stash.get(SETTINGS, None)
    if settings is None:
        return []
    profile = settings.profile
    target = "embedded reference stack" if profile.embedded else profile.target.base_url
    lines = [
        f"realtime-verify: profile {settings.run_profile}, target {target} ({profile.source})",
    ]
    if settings.faults:
        lines.append(f"realtime-verify: faults switched on: {', '.join(settings.faults)}")
    lines += [f"realtime-verify:   {line}" for line in describe(profile)]
    return lines


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep the checks of the chosen profile; leave tests that are not checks alone."""
    settings = config.stash[SETTINGS]
    wanted = {value.upper() for value in config.getoption("rv_checks")}
    selected: list[pytest.Item] = []
    deselected: list[pytest.Item] = []
    for item in items:
        marker = item.get_closest_marker("check")
        if marker is None:
            selected.append(item)
            continue
        check_id = str(marker.args[0])
        in_profile = item.get_closest_marker(settings.run_profile) is not None
        asked = not wanted or check_id in wanted or check_id.split("-")[0] in wanted
        (selected if in_profile and asked else deselected).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected
    config.stash[STATE].checks_selected = sum(1 for item in selected if item.get_closest_marker("check"))


# Fixtures ----------------------------------------------------------------------------------------


def abort_run(state: RunState, error: RealtimeVerifyError) -> None:
    """Setup, usage and unreachable-target errors end the run with their exit code and one line."""
    state.abort = error
    pytest.exit(f"realtime-verify: {error}", returncode=error.exit_code)


@pytest.fixture(scope="session")
def rv_settings(pytestconfig: pytest.Config) -> RunSettings:
    """The resolved options and target profile of this run."""
    return pytestconfig.stash[SETTINGS]


@pytest.fixture(scope="session")
def rv_run(pytestconfig: pytest.Config) -> RunState:
    """Run-wide state: markers, cleanups, the fail-fast memory of a page that cannot connect."""
    return pytestconfig.stash[STATE]


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def rv_target(rv_settings: RunSettings, rv_run: RunState) -> AsyncIterator[Target]:
    """The target, ready to verify (the embedded stack is started here when no target is given)."""
    started = time.monotonic()
    try:
        target = await prepare_target(rv_settings.profile, StackConfig(faults=rv_settings.faults))
    except RealtimeVerifyError as error:
        abort_run(rv_run, error)
        raise  # unreachable: pytest.exit raised
    rv_run.target = target
    rv_run.redactor.add(*(c.password for c in target.credentials.values()), *target.extra_env.values())
    _record_session_value(rv_run, "target_ready_s", round(time.monotonic() - started, 2))
    try:
        yield target
    finally:
        for cleanup in reversed(rv_run.cleanups):
            with contextlib.suppress(RealtimeVerifyError, OSError):
                await cleanup()
        removed = await target.remove_synthetic_messages(rv_run.markers.prefix)
        if removed is not None:
            _record_session_value(rv_run, "synthetic messages removed", removed)
        await target.close()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def rv_browser(rv_settings: RunSettings, rv_target: Target, rv_run: RunState) -> AsyncIterator[Browser]:
    """One Chromium for the run, mapped to the target's names and trusting its CA."""
    async with async_playwright() as playwright:
        try:
            choice = find_chromium(playwright, rv_settings.browser_path)
            browser = await launch_chromium(playwright, choice, rv_target.network, headed=rv_settings.headed)
        except RealtimeVerifyError as error:
            abort_run(rv_run, error)
            raise
        rv_run.browser_version = f"Chromium {browser.version} ({choice.how})"
        yield browser
        await browser.close()


@pytest.fixture
def rv_metrics(request: pytest.FixtureRequest) -> CheckMetrics:
    """Numbers this test measured; they appear in the terminal summary and every report."""
    metrics = CheckMetrics()
    request.node.stash[METRICS] = metrics
    return metrics


OpenApp = Callable[..., Awaitable[AppPage]]


@pytest_asyncio.fixture(loop_scope="session")
async def open_app(
    request: pytest.FixtureRequest,
    rv_browser: Browser,
    rv_target: Target,
    rv_settings: RunSettings,
    rv_run: RunState,
) -> AsyncIterator[OpenApp]:
    """Factory: `await open_app("a")` gives a new context and page, logged in as user a, connected."""
    opened: list[tuple[BrowserContext, AppPage]] = []
    profile = rv_target.profile
    script = instrumentation_script(profile.socket_path, rf"{re.escape(rv_run.markers.prefix)}\d+")
    artifacts = _artifact_dir(rv_settings, request.node)

    async def factory(role: str, name: str | None = None, *, connect: bool = True) -> AppPage:
        if connect and rv_run.page_connect_failure:
            raise WaitTimeout(
                f"skipped the wait, an earlier page could not connect either: {rv_run.page_connect_failure}"
            )
        video_dir = str(artifacts / "video") if rv_settings.video != "off" else None
        context = await rv_browser.new_context(record_video_dir=video_dir)
        await context.add_init_script(script)
        page = await context.new_page()
        app = AppPage(page, profile, name or f"page {role}")
        opened.append((context, app))
        await app.open(rv_target.base_url)
        if profile.auth.mode != "none":
            await app.login(rv_target.user(role))
        # Traces start after login, so the password never enters them.
        if rv_settings.tracing != "off":
            await context.tracing.start(screenshots=True, snapshots=True)
        if connect:
            try:
                await app.wait_connected(CONNECT_TIMEOUT_S)
            except WaitTimeout as error:
                rv_run.page_connect_failure = str(error)
                raise
        return app

    yield factory
    failed = request.node.stash.get(FAILED, False)
    for index, (context, app) in enumerate(opened):
        keep = failed or rv_settings.tracing == "on"
        folder = artifacts / f"{index}-{_slug(app.name)}"
        await _save_artifacts(context, app, folder, rv_settings, rv_run.redactor, failed=failed, keep_trace=keep)
        await context.close()
    if rv_settings.video == "retain-on-failure" and not failed:
        shutil.rmtree(artifacts / "video", ignore_errors=True)


ConnectWatcher = Callable[..., Awaitable[Watcher]]


@pytest_asyncio.fixture(loop_scope="session")
async def connect_watcher(rv_target: Target) -> AsyncIterator[ConnectWatcher]:
    """Factory: `await connect_watcher("b")` gives a connected watcher logged in as user b."""
    watchers: list[Watcher] = []

    async def factory(
        role: str | None = "a",
        *,
        auth: dict[str, Any] | None = None,
        transports: list[str] | None = None,
        connect: bool = True,
    ) -> Watcher:
        profile = rv_target.profile
        if auth is None and role is not None and profile.auth.mode != "none":
            auth = rv_target.socket_auth(await rv_target.token(role))
        watcher = Watcher(
            f"{role or 'anonymous'}",
            profile.socket_base,
            profile.socket_path,
            rv_target.network,
            auth=auth,
            transports=transports,
        )
        watchers.append(watcher)
        if connect:
            await watcher.connect(CONNECT_TIMEOUT_S)
        return watcher

    yield factory
    for watcher in watchers:
        with contextlib.suppress(Exception):
            await watcher.close()


# Artifacts ---------------------------------------------------------------------------------------


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:80]


def _artifact_dir(settings: RunSettings, node: pytest.Item) -> Path:
    return settings.output / "artifacts" / _slug(node.nodeid.split("::")[-1])


async def _save_artifacts(
    context: BrowserContext,
    app: AppPage,
    folder: Path,
    settings: RunSettings,
    redactor: Redactor,
    *,
    failed: bool,
    keep_trace: bool,
) -> None:
    """On failure (or when asked): screenshot, trace, console log and socket frame log, redacted."""
    want_screenshot = settings.screenshot == "on" or (settings.screenshot == "only-on-failure" and failed)
    tracing = settings.tracing != "off"
    if not (failed or want_screenshot or (tracing and keep_trace)):
        if tracing:
            with contextlib.suppress(Exception):
                await context.tracing.stop()
        return
    folder.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(Exception):
        if want_screenshot:
            await app.page.screenshot(path=str(folder / "screenshot.png"), full_page=True)
        if tracing:
            if keep_trace:
                trace = folder / "trace.zip"
                await context.tracing.stop(path=str(trace))
                redactor.zip(trace)
            else:
                await context.tracing.stop()
    if failed:
        (folder / "console.log").write_text(redactor.text("\n".join(app.console) + "\n"))
        with contextlib.suppress(Exception):
            frames = await app.rv.frames()
            snapshot = await app.rv.snapshot()
            text = json.dumps({"snapshot": snapshot, "frames": frames}, indent=1)
            (folder / "socket-frames.json").write_text(redactor.text(text))


# Results and reports -----------------------------------------------------------------------------


def _record_session_value(state: RunState, key: str, value: Any) -> None:
    state.session_values[key] = value


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.failed:
        item.stash[FAILED] = True
    marker = item.get_closest_marker("check")
    if marker is None:
        return report
    state = item.config.stash[STATE]
    if report.when == "call" or (report.when == "setup" and not report.passed):
        metrics = item.stash.get(METRICS, CheckMetrics())
        result = CheckResult.from_report(
            check_id=str(marker.args[0]),
            title=_title(item),
            report=report,
            excinfo=call.excinfo,
            latency=[s.summary() for s in metrics.series.values()],
            values=dict(metrics.values),
            warnings=list(metrics.warnings),
            redactor=state.redactor,
        )
        state.results.append(result)
    return report


def _title(item: pytest.Item) -> str:
    marker = item.get_closest_marker("check")
    if marker is not None and "title" in marker.kwargs:
        return str(marker.kwargs["title"])
    doc = getattr(getattr(item, "function", None), "__doc__", None) or ""
    return doc.strip().splitlines()[0] if doc.strip() else item.name


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write the reports of a suite run, also when it was aborted before any check ran."""
    state = session.config.stash.get(STATE, None)
    settings = session.config.stash.get(SETTINGS, None)
    if state is None or settings is None or not (state.results or state.abort or state.checks_selected):
        return
    report = _build_report(state, settings, int(exitstatus))
    state.reports = write_reports(report, settings.output)
    state.session_values["verdict"] = report.verdict


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    state = config.stash.get(STATE, None)
    if state is None or not state.reports:
        return
    write = terminalreporter.write_line
    terminalreporter.section("realtime-verify")
    latency = [s for r in state.results for s in r.latency]
    for line in format_table(latency):
        write(line)
    if latency:
        write("")
    for result in state.results:
        write(f"{result.status.upper():<7} {result.check_id:<7} {result.title}")
        if result.status in ("failed", "warning"):
            write(f"        {result.message.splitlines()[0][:300]}")
    if state.abort is not None:
        write(f"ABORTED before the checks could run: {state.redactor.text(str(state.abort))}")
    write("")
    write(f"verdict: {state.session_values.get('verdict')}; reports: {', '.join(str(p) for p in state.reports)}")


def _build_report(state: RunState, settings: RunSettings, exitstatus: int) -> RunReport:
    target = state.target
    profile = target.profile if target else settings.profile
    abort = state.abort
    return RunReport.build(
        run_id=state.markers.run_id,
        started=settings.started,
        run_profile=settings.run_profile,
        target=profile.target.base_url or "embedded reference stack",
        embedded=settings.profile.embedded,
        faults=list(settings.faults),
        settings=describe(settings.profile),
        browser=state.browser_version,
        results=state.results,
        values=state.session_values,
        exit_status=abort.exit_code if abort else exitstatus,
        error=None if abort is None else state.redactor.text(str(abort)),
    )
