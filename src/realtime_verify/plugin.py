"""The pytest plugin: options, markers, fixtures and reports. Thin on purpose: the work is in the harness.

Fixtures, from expensive (once per run) to cheap (per check):

    rv_settings   the resolved options and target profile
    rv_target     the target, ready: the embedded stack started, the preflight passed
    rv_adapter    the app adapter (override this fixture in a conftest.py to bring your own)
    rv_browser    one Chromium for the run
    rv_app        this check's pages and watchers (`AppSession`), closed with artifacts
    rv_check      what this check recorded: judgements, metrics, latency, timelines
    rv_markers    unique markers for the synthetic data the run creates

A test is a check when it carries `@pytest.mark.check(catalogue.X)`: the catalogue says which run
profiles include it and what it needs; a check whose need the target lacks is skipped, with the
reason, before it runs.

This is the only module that imports pytest (a test holds the harness to it), so its options,
fixtures and the hooks that turn pytest's reports into check results live here together.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import threading
import time
from collections.abc import AsyncIterator, Generator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from playwright.async_api import Browser, async_playwright

from realtime_verify.adapter import AppAdapter, TargetFacts, load_adapter, skip_reason
from realtime_verify.artifacts import ARTIFACT_MODES, SCREENSHOT_MODES, ArtifactSettings
from realtime_verify.browser import find_chromium, launch_chromium
from realtime_verify.catalogue import CATALOGUE, Check, RunProfile
from realtime_verify.config import describe, parse_overrides, profile_from_target_option
from realtime_verify.errors import (
    EXIT_INTERRUPTED,
    EXIT_TERMINATED,
    EXIT_USAGE,
    CheckFailure,
    InternalError,
    NotApplicable,
    RealtimeVerifyError,
    SetupError,
    TargetUnreachable,
    UsageError,
)
from realtime_verify.metrics import Markers
from realtime_verify.outcome import CheckResult, Status
from realtime_verify.reporting import format as fmt
from realtime_verify.reporting.redact import Redactor, shared_redactor
from realtime_verify.reporting.summary import RunReport, write_reports
from realtime_verify.run import CheckRecord, RunSettings, RunState
from realtime_verify.session import AppSession, slug
from realtime_verify.stack import StackConfig, Timers
from realtime_verify.stack.faults import resolve_faults
from realtime_verify.target import Target, keep_embedded_config, prepare_target

PROFILES = tuple(profile.value for profile in RunProfile)


SETTINGS = pytest.StashKey[RunSettings]()
STATE = pytest.StashKey[RunState]()
RECORD = pytest.StashKey[CheckRecord]()
RESULT = pytest.StashKey[CheckResult]()
FAILED = pytest.StashKey[bool]()


# Options -----------------------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("realtime-verify", "realtime-verify: verify a Socket.IO real-time layer")
    group.addoption(
        "--target", default=None, help="a target profile (.toml) or a base URL; default: the embedded stack"
    )
    group.addoption("--profile", default=None, choices=PROFILES, help="which checks run (default: ini rv_profile)")
    group.addoption("--browser-path", default=None, help="Chromium to launch (else $RV_BROWSER_PATH, Playwright's...)")
    group.addoption("--headed", action="store_true", default=False, help="show the browser windows")
    group.addoption("--tracing", default="off", choices=ARTIFACT_MODES, help="Playwright traces (default: off)")
    group.addoption("--video", default="off", choices=ARTIFACT_MODES, help="record videos (default: off)")
    group.addoption("--screenshot", default="only-on-failure", choices=SCREENSHOT_MODES, help="page screenshots")
    group.addoption("--output", default=None, help="where reports and artifacts go (default: reports)")
    group.addoption(
        "--label", default="", help="the build being verified, for the reports (default: target.version_path's answer)"
    )
    group.addoption(
        "--check",
        action="append",
        default=[],
        dest="rv_checks",
        metavar="ID",
        help="run only these checks: an ID or a family (`realtime-verify checks` lists them); repeatable",
    )
    group.addoption(
        "--fault", action="append", default=[], metavar="NAME", help="switch on an embedded stack fault (repeatable)"
    )
    group.addoption(
        "--production-timers",
        action="store_true",
        default=False,
        help="the embedded stack with production timers (ping 25+20 s, heartbeat 30 s...): minutes per fault check",
    )
    group.addoption(
        "--set",
        action="append",
        default=[],
        dest="rv_set",
        metavar="SECTION.KEY=VALUE",
        help="override one profile setting (repeatable)",
    )
    parser.addini("rv_profile", "default run profile: smoke, signoff or nightly", default="signoff")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "check(check): the catalogue check (realtime_verify.catalogue) a test verifies")
    try:
        settings = _resolve_settings(config)
    except UsageError as error:
        pytest.exit(shared_redactor().text(f"realtime-verify: {error}"), returncode=EXIT_USAGE)
    redactor = shared_redactor()
    redactor.add(*settings.profile.secret_values())
    state = RunState(Markers(), redactor)
    config.stash[SETTINGS] = settings
    config.stash[STATE] = state
    _interrupt_on_signals(state)


def _interrupt_on_signals(state: RunState) -> None:
    """SIGTERM (CI's cancel or timeout) and SIGINT end the run the same way: the reports are still
    written, the checks that did not run say so, and the exit code says which signal (143, 130)."""
    if threading.current_thread() is not threading.main_thread():
        return

    def interrupt(signum: int, frame: object) -> None:
        state.interrupted_by = signal.Signals(signum).name
        # The check in progress is abandoned mid-await: its browser calls fail as the browser closes.
        with contextlib.suppress(RuntimeError):
            asyncio.get_event_loop_policy().get_event_loop().set_exception_handler(lambda loop, context: None)
        raise KeyboardInterrupt

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, interrupt)


def _resolve_settings(config: pytest.Config) -> RunSettings:
    overrides = parse_overrides(config.getoption("rv_set"))
    profile = profile_from_target_option(config.getoption("target"), overrides=overrides)
    faults = tuple(config.getoption("fault"))
    if faults and not profile.embedded:
        raise UsageError("--fault switches faults of the embedded reference stack; it cannot apply to a --target")
    if config.getoption("production_timers") and not profile.embedded:
        raise UsageError("--production-timers sets the embedded stack's timers; a --target has its own")
    resolve_faults(faults)
    wanted = config.getoption("rv_checks")
    try:
        selected = CATALOGUE.select(wanted) if wanted else None
    except KeyError as error:
        raise UsageError(
            f"--check {error.args[0]}: no such check or family. Valid: {', '.join(CATALOGUE.ids)}"
            " (or a family: ENV, NGX, CF, HS, RT, FT, SW)"
        ) from None
    run_profile = config.getoption("profile") or config.getini("rv_profile")
    if run_profile not in PROFILES:
        raise UsageError(f"rv_profile must be one of {', '.join(PROFILES)}, got {run_profile!r}")
    output = Path(config.getoption("output") or os.environ.get("RV_OUTPUT") or "reports")
    if output.exists() and not output.is_dir():
        raise UsageError(f"--output {output} is a file; give a folder for the reports")
    return RunSettings(
        profile=profile,
        run_profile=RunProfile(run_profile),
        browser_path=config.getoption("browser_path"),
        headed=config.getoption("headed"),
        artifacts=ArtifactSettings(
            config.getoption("tracing"), config.getoption("video"), config.getoption("screenshot")
        ),
        output=output,
        faults=faults,
        selected=selected,
        label=config.getoption("label"),
        production_timers=config.getoption("production_timers"),
    )


def pytest_report_header(config: pytest.Config) -> list[str]:
    settings = config.stash.get(SETTINGS, None)
    if settings is None:
        return []
    profile = settings.profile
    target = "embedded reference stack" if profile.embedded else profile.target.base_url
    lines = [f"realtime-verify: profile {settings.run_profile}, target {target} ({profile.source})"]
    if settings.faults:
        lines.append(f"realtime-verify: faults switched on: {', '.join(settings.faults)}")
    lines += [f"realtime-verify:   {line}" for line in describe(profile)]
    return lines


def check_of(item: pytest.Item) -> Check | None:
    marker = item.get_closest_marker("check")
    if marker is None:
        return None
    check = marker.args[0] if marker.args else None
    if not isinstance(check, Check):
        raise UsageError(f"{item.nodeid}: @pytest.mark.check takes a catalogue check (catalogue.RT_002), got {check!r}")
    return check


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Keep the checks of the run profile (and of --check); leave tests that are not checks alone."""
    settings = config.stash[SETTINGS]
    selected: list[pytest.Item] = []
    deselected: list[pytest.Item] = []
    checks: list[Check] = []
    for item in items:
        try:
            check = check_of(item)
        except UsageError as error:
            config.stash[STATE].abort = error  # a mis-marked check: the summary says which, and nothing runs
            pytest.exit(f"realtime-verify: {error}", returncode=EXIT_USAGE)
        if check is None:
            selected.append(item)
            continue
        wanted = settings.run_profile in check.profiles and (settings.selected is None or check in settings.selected)
        (selected if wanted else deselected).append(item)
        if wanted:
            checks.append(check)
            _CHECK_NODES.add(item.nodeid)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected
    config.stash[STATE].checks = checks
    terminal = config.pluginmanager.get_plugin("terminalreporter")
    if checks and terminal is not None:
        terminal.showfspath = False  # a live line per check instead of a file name and dots
    if checks:
        try:
            prepare_output(settings.output)
        except UsageError as error:
            config.stash[STATE].checks = []  # nowhere to write reports: say it in one line, and stop
            pytest.exit(f"realtime-verify: {error}", returncode=EXIT_USAGE)


def prepare_output(output: Path) -> None:
    """The reports folder, writable, holding only this run's artifacts (history.jsonl is kept)."""
    try:
        output.mkdir(parents=True, exist_ok=True)
        probe = output / ".realtime-verify-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as error:
        raise UsageError(f"--output {output} cannot be written ({error.strerror}): give a writable folder") from None
    for stale in ("artifacts", "embedded-config"):
        shutil.rmtree(output / stale, ignore_errors=True)


# Fixtures ----------------------------------------------------------------------------------------


def abort_run(state: RunState, error: RealtimeVerifyError) -> None:
    """Setup, usage and unreachable-target errors end the run with their exit code and one line."""
    state.abort = error
    pytest.exit(state.redactor.text(f"realtime-verify: {error}"), returncode=error.exit_code)


@pytest.fixture(scope="session")
def rv_settings(pytestconfig: pytest.Config) -> RunSettings:
    """The resolved options and target profile of this run."""
    return pytestconfig.stash[SETTINGS]


@pytest.fixture(scope="session")
def rv_run(pytestconfig: pytest.Config) -> RunState:
    """Run-wide state: markers, cleanups, the memory of a page that could not connect."""
    return pytestconfig.stash[STATE]


@pytest.fixture(scope="session")
def rv_markers(rv_run: RunState) -> Markers:
    """Unique markers (`rv-<run id>-<n>`) for the synthetic data this run creates."""
    return rv_run.markers


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def rv_target(rv_settings: RunSettings, rv_run: RunState) -> AsyncIterator[Target]:
    """The target, ready to verify (the embedded stack is started here when no target is given)."""
    started = time.monotonic()
    try:
        timers = Timers.production() if rv_settings.production_timers else Timers.compressed()
        target = await prepare_target(rv_settings.profile, StackConfig(faults=rv_settings.faults, timers=timers))
    except RealtimeVerifyError as error:
        abort_run(rv_run, error)
        raise  # unreachable: pytest.exit raised
    if target.stack is not None:
        target.profile = keep_embedded_config(target.profile, rv_settings.output / "embedded-config")
    rv_run.target = target
    rv_run.redactor.add(*target.extra_env.values(), *(u.password for u in target.provided_users.values()))
    rv_run.session_values["target_ready_s"] = round(time.monotonic() - started, 2)
    try:
        yield target
    finally:
        for cleanup in reversed(rv_run.cleanups):
            with contextlib.suppress(RealtimeVerifyError, OSError):
                await cleanup()
        if rv_run.adapter is not None:
            with contextlib.suppress(RealtimeVerifyError, OSError):
                removed = await rv_run.adapter.remove_chat(rv_run.markers.prefix)
                if removed is not None:
                    rv_run.session_values["synthetic messages removed"] = removed
            await rv_run.adapter.close()
        await target.close()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def rv_adapter(rv_target: Target, rv_run: RunState) -> AppAdapter:
    """The app adapter: the class `[app] adapter` names, else the profile-driven contract adapter."""
    try:
        adapter = load_adapter(rv_target)
        await adapter.prepare()
    except RealtimeVerifyError as error:
        abort_run(rv_run, error)
        raise
    use_adapter(rv_run, adapter)
    return adapter


def use_adapter(run: RunState, adapter: AppAdapter) -> None:
    """Make `adapter` the run's: its capabilities in the report, its secrets (also those it learns
    later, a token from a login during a check) redacted, its cleanup done at the end. Whoever
    provides the adapter (the fixture above, or a team's own override of it) goes through here."""
    if run.adapter is adapter:
        return
    run.adapter = adapter
    run.redactor.add_source(adapter.secrets)


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
def rv_check(request: pytest.FixtureRequest) -> CheckRecord:
    """What this check records: pass judgements to `rv_check.record(...)`; they reach every report."""
    record: CheckRecord = request.node.stash.setdefault(RECORD, CheckRecord())
    check = check_of(request.node)
    if check is not None:
        record.progress = lambda text: _live(request.config, f"{'':<8} {check.id:<8} … {text}")
    return record


@pytest_asyncio.fixture(loop_scope="session")
async def rv_app(
    request: pytest.FixtureRequest,
    rv_browser: Browser,
    rv_target: Target,
    rv_adapter: AppAdapter,
    rv_settings: RunSettings,
    rv_run: RunState,
    rv_check: CheckRecord,
) -> AsyncIterator[AppSession]:
    """This check's pages and watchers: `await rv_app.page("a")`, `await rv_app.watcher("c")`."""
    use_adapter(rv_run, rv_adapter)
    session = AppSession(
        browser=rv_browser,
        target=rv_target,
        adapter=rv_adapter,
        markers=rv_run.markers,
        redactor=rv_run.redactor,
        artifacts=rv_settings.artifacts,
        folder=rv_settings.output / "artifacts" / slug(request.node.name),
        memory=rv_run.memory,
    )
    yield session
    for cleanup in reversed(rv_check.cleanups):
        with contextlib.suppress(RealtimeVerifyError, OSError):
            await cleanup()
    rv_check.artifacts += await session.close(failed=request.node.stash.get(FAILED, False))


@pytest.fixture(autouse=True)
def _rv_skip_unmet_needs(request: pytest.FixtureRequest) -> None:
    """A check whose needs the target lacks is skipped with the reason, before it runs."""
    check = check_of(request.node)
    if check is None or not check.needs:
        return
    adapter: AppAdapter = request.getfixturevalue("rv_adapter")
    target: Target = request.getfixturevalue("rv_target")
    use_adapter(request.getfixturevalue("rv_run"), adapter)
    reason = skip_reason(check, adapter.capabilities, TargetFacts.from_profile(target.profile))
    if reason:
        pytest.skip(reason)


# Results and reports -----------------------------------------------------------------------------


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    check = check_of(item)
    error = call.excinfo.value if call.excinfo is not None else None
    if isinstance(error, NotApplicable):
        report.outcome = "skipped"
        report.longrepr = (str(item.path), item.location[1] or 0, f"Skipped: {error}")
    elif isinstance(error, UsageError | SetupError | TargetUnreachable) and check is not None:
        # The profile, this machine or the target is wrong, not the app: one line, and the run ends with its code.
        state = item.config.stash[STATE]
        state.abort = error
        item.session.shouldstop = f"realtime-verify: {error}"
        report.longrepr = item.config.stash[STATE].redactor.text(f"realtime-verify: {error}")
    elif isinstance(error, CheckFailure | RealtimeVerifyError) and check is not None:
        report.longrepr = item.config.stash[STATE].redactor.text(f"{check.id}: {error}")
    if report.failed:
        item.stash[FAILED] = True
    if check is None:
        return report
    state = item.config.stash[STATE]
    if report.when == "call" or (report.when == "setup" and not report.passed):
        result = _result(item, check, report, error, state.redactor)
        state.results.append(result)
        item.stash[RESULT] = result
    elif report.when == "teardown" and RESULT in item.stash:
        # Artifacts are saved when the check's pages close, after its result was recorded.
        result = item.stash[RESULT]
        _live(item.config, fmt.progress_line(result))
        result.artifacts = list(item.stash.get(RECORD, CheckRecord()).artifacts)
        if report.failed and result.status in (Status.PASSED, Status.WARNING):
            # Cleaning up after the check failed (its synthetic data, its pages): say so, never pass quietly.
            result.status = Status.ERROR
            result.message = state.redactor.text(
                f"the check passed, but cleaning up after it failed: {type(error).__name__}: {error}"
                " — an error of realtime-verify or of the adapter's cleanup"
            )
    return report


def _result(
    item: pytest.Item, check: Check, report: pytest.TestReport, error: BaseException | None, redactor: Redactor
) -> CheckResult:
    record = item.stash.get(RECORD, CheckRecord())
    judgement = record.judgement
    message, fix = "", ""
    findings = list(judgement.findings)
    metrics = dict(judgement.metrics)
    series = list(judgement.series)
    timelines = list(judgement.timelines)
    interrupted = item.config.stash[STATE].interrupted_by
    if interrupted and not report.passed:
        status, message = Status.NOT_RUN, f"interrupted ({interrupted}) while it ran"
    elif report.skipped:
        status = Status.SKIPPED
        longrepr = report.longrepr
        message = str(longrepr[2]) if isinstance(longrepr, tuple) else str(longrepr or "")
        message = message.removeprefix("Skipped: ")
    elif isinstance(error, CheckFailure):
        status = Status.FAILED
        message, fix = error.message, error.fix or check.fix
        findings = [*error.findings, *findings]
        metrics.update(error.metrics)
        series = series or list(error.series)
        timelines = timelines or list(error.timelines)
    elif isinstance(error, UsageError | TargetUnreachable):
        status, message = Status.NOT_RUN, str(error)
    elif isinstance(error, RealtimeVerifyError | AssertionError):
        # A wait that expired, a client that could not connect: the target did not do what the check needs.
        status, message = Status.FAILED, str(error) or type(error).__name__
        fix = getattr(error, "fix", "") or check.fix
    elif report.failed:
        status = Status.ERROR
        message = (
            f"{type(error).__name__}: {error}" if error is not None else str(report.longrepr or "")
        ) + " — an error of realtime-verify itself, not of the target: please report it"
    else:
        status = Status.WARNING if findings else Status.PASSED
        if findings:
            message = "; ".join(("needs review: " if f.severity == "review" else "") + f.line() for f in findings)
            fix = "; ".join(dict.fromkeys(f.fix for f in findings if f.fix))
    return CheckResult.of(
        check,
        status,
        message=redactor.text(message.strip()),
        fix=redactor.text(fix),
        findings=findings,
        checked=list(judgement.checked),
        metrics=metrics,
        latency=[{**s.summary(), "samples_ms": [round(v, 2) for v in s.samples_ms]} for s in series],
        timelines=timelines,
        duration_s=round(report.duration, 3),
        nodeid=report.nodeid,
        artifacts=list(record.artifacts),
    )


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Write the reports of a suite run, also when it was aborted before any check ran."""
    state = session.config.stash.get(STATE, None)
    settings = session.config.stash.get(SETTINGS, None)
    if state is None or settings is None or not (state.results or state.abort or state.checks):
        return
    judged = {result.check_id for result in state.results}
    if state.interrupted_by:
        reason = f"the run was interrupted ({state.interrupted_by}) before this check ran"
        exitstatus = EXIT_TERMINATED if state.interrupted_by == "SIGTERM" else EXIT_INTERRUPTED
        running = next((i for i in session.items if i.nodeid in _RUNNING), None)
        check = check_of(running) if running is not None else None
        if check is not None and check.id not in judged:
            state.results.append(
                CheckResult.of(check, Status.NOT_RUN, message=f"interrupted ({state.interrupted_by}) while it ran")
            )
            judged.add(check.id)
    elif state.abort:
        reason = f"the run ended first: {state.abort}"
    elif state.collection_errors:
        state.abort = InternalError(
            "the suite could not be collected (a defect of realtime-verify or of a custom adapter module): "
            + state.collection_errors[0]
        )
        reason = "the suite could not be collected"
    else:
        reason = "the run ended before it"
    for check in state.checks:
        if check.id not in judged:
            state.results.append(CheckResult.of(check, Status.NOT_RUN, message=state.redactor.text(reason)))
    report = _build_report(state, settings, int(exitstatus))
    state.reports = write_reports(report, settings.output)
    state.session_values["verdict"] = report.verdict
    session.exitstatus = report.exit_status


def _live(config: pytest.Config, line: str) -> None:
    """Live progress: a line on the terminal as a check finishes or a long one moves on."""
    terminal = config.pluginmanager.get_plugin("terminalreporter")
    state = config.stash.get(STATE, None)
    if terminal is None or state is None:
        return
    capture = config.pluginmanager.get_plugin("capturemanager")
    # A check's progress is said while pytest captures its output: step outside the capture.
    with capture.global_and_fixture_disabled() if capture is not None else contextlib.nullcontext():
        terminal.ensure_newline()
        terminal.write_line(state.redactor.text(line))


def pytest_report_teststatus(report: pytest.TestReport, config: pytest.Config) -> tuple[str, str, str] | None:
    """No dot per check: its live line says more (pytest still counts outcomes as usual)."""
    if report.nodeid in _CHECK_NODES and report.when == "call":
        return report.outcome, "", report.outcome.upper()
    return None


_CHECK_NODES: set[str] = set()


def pytest_runtest_logstart(nodeid: str, location: tuple[str, int | None, str]) -> None:
    _RUNNING[:] = [nodeid]


_RUNNING: list[str] = []


def pytest_collectreport(report: pytest.CollectReport) -> None:
    if report.failed:
        text = str(report.longrepr or "").strip().splitlines()
        first = next((line for line in reversed(text) if line.startswith("E ")), text[-1] if text else "")
        _COLLECTION_ERRORS.append(f"{report.nodeid}: {first.removeprefix('E ').strip()}")


_COLLECTION_ERRORS: list[str] = []


def pytest_collection_finish(session: pytest.Session) -> None:
    state = session.config.stash.get(STATE, None)
    if state is not None:
        state.collection_errors += _COLLECTION_ERRORS
        _COLLECTION_ERRORS.clear()


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    state = config.stash.get(STATE, None)
    if state is None or not state.reports:
        return
    write = terminalreporter.write_line
    terminalreporter.section("realtime-verify")
    latency = [s for r in state.results for s in r.latency]
    for line in fmt.latency_table(latency):
        write(line)
    if latency:
        write("")
    ordered = sorted(state.results, key=lambda r: CATALOGUE.ids.index(r.check_id))
    for line in fmt.results_table(ordered):
        write(line)
    if state.abort is not None:
        write(f"ABORTED: {state.redactor.text(str(state.abort))}")
    write("")
    write(
        f"verdict: {state.session_values.get('verdict')} ({fmt.summary_line(state.results)});"
        f" reports: {', '.join(str(p) for p in state.reports)}"
    )


def _build_report(state: RunState, settings: RunSettings, exitstatus: int) -> RunReport:
    target = state.target
    profile = target.profile if target else settings.profile
    abort = state.abort
    capabilities = state.adapter.capabilities.describe() if state.adapter else []
    return RunReport.build(
        run_id=state.markers.run_id,
        started=settings.started,
        run_profile=settings.run_profile.value,
        target=profile.target.base_url or "embedded reference stack",
        embedded=settings.profile.embedded,
        faults=list(settings.faults),
        settings=describe(settings.profile),
        capabilities=capabilities,
        browser=state.browser_version,
        results=state.results,
        values=state.session_values,
        exit_status=abort.exit_code if abort else exitstatus,
        error=state.redactor.text(str(abort))
        if abort is not None
        else f"interrupted by {state.interrupted_by}"
        if state.interrupted_by
        else None,
        label=settings.label or (target.app_version if target else ""),
    )
