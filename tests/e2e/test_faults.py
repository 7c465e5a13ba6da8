"""FT-*: forced disconnects, half-open links, restarts and offline spells; the clients must come back.

Against the embedded stack the faults hit the edge and the backend; against any other target only
the suite's own connections are cut (`realtime_verify.disrupt`). Every client's recovery is a
timeline in the report.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import pytest_asyncio

from realtime_verify import catalogue as c
from realtime_verify import disrupt, observe
from realtime_verify.adapter import AppAdapter
from realtime_verify.audit.nginx import socket_read_timeout
from realtime_verify.checks import faults as ft
from realtime_verify.checks.realtime import explain_lost
from realtime_verify.errors import CheckFailure, ConfigError, NotApplicable, SetupError, WaitTimeout
from realtime_verify.faults import locust
from realtime_verify.faults.network import WatcherProxy, through_proxy
from realtime_verify.metrics import Markers
from realtime_verify.pages import AppPage
from realtime_verify.run import CheckRecord, RunSettings
from realtime_verify.session import AppSession
from realtime_verify.target import Target
from realtime_verify.watcher import Watcher


@pytest_asyncio.fixture(loop_scope="session")
async def watcher_proxy(rv_target: Target) -> AsyncIterator[WatcherProxy]:
    """A local TCP proxy the fault checks' watchers connect through (client-side cuts)."""
    parts = urlsplit(rv_target.profile.socket_base)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    async with WatcherProxy((rv_target.network.resolve.get(host, host), port)) as proxy:
        yield proxy


async def watch_badge(page: AppPage, target: Target) -> None:
    selector = target.profile.ui.connected
    if selector:
        await page.rv.watch_selector(selector, "badge")


STORM_BATCH = 25


def budget(target: Target) -> float:
    return target.profile.budgets.reconnect_s


@pytest.mark.check(c.FT_001)
async def test_every_client_reconnects_after_a_drop(
    rv_app: AppSession, rv_target: Target, watcher_proxy: WatcherProxy, rv_check: CheckRecord
) -> None:
    a, b = await rv_app.open_pages("a", "b", cut=True)
    url, network = through_proxy(rv_target.profile.socket_base, rv_target.network, watcher_proxy)
    watcher = await rv_app.watcher("b", reconnect=True, network=network, base_url=url)
    for page in (a, b):
        await watch_badge(page, rv_target)
    before = [await a.rv.connects(), await b.rv.connects()]
    cut = await disrupt.cut_everything(rv_target, (a, b), watcher_proxy)
    # All at once, each until budget + 5 s after the cut: when nobody comes back, that costs one wait.
    recoveries = await disrupt.recoveries(
        cut, budget(rv_target) + 5, pages=[(a, before[0]), (b, before[1])], watchers=[(watcher, 1)]
    )
    rv_check.record(ft.judge_recoveries(recoveries, budget(rv_target), how=cut.how))


@pytest.mark.check(c.FT_002)
async def test_updates_made_while_cut_off_appear_once_after_reconnecting(
    rv_app: AppSession, rv_adapter: AppAdapter, rv_target: Target, rv_markers: Markers, rv_check: CheckRecord
) -> None:
    a, b = await rv_app.page("a"), await rv_app.page("b", cut=True)
    await disrupt.require_websocket(b)
    await rv_adapter.open_chat(a, rv_adapter.user("b"))
    await rv_adapter.open_chat(b, rv_adapter.user("a"))
    # One message before the cut, so the page has something to resync from.
    earlier = rv_markers.next()
    lost = await observe.send_and_wait(rv_adapter, a, [b], earlier)
    if lost is not None:
        raise CheckFailure(f"before any fault: {explain_lost(lost).message}", fix=c.RT_002.fix)
    assert b.cutter is not None
    before = await b.rv.connects()
    cut = disrupt.Cut("page B's socket held off (client side), its HTTP requests still served", disrupt.now_ms())
    await b.cutter.hold()
    if not await b.rv.wait_disconnected(5):
        raise CheckFailure("page B did not notice that its socket was closed within 5 s", fix=c.FT_001.fix)
    sent = []
    for _ in range(3):
        marker = rv_markers.next()
        sent.append(marker)
        await rv_adapter.send_chat(a, observe.chat_text(marker))
        await a.rv.wait_rendered(marker, observe.RENDER_TIMEOUT_S)  # the server has it: A shows it
    b.cutter.release()
    recovery = await disrupt.page_recovery(b, cut, before, budget(rv_target) + 5)
    if recovery.reconnected:
        for marker in sent:
            try:
                await b.rv.wait_rendered(marker, observe.RENDER_TIMEOUT_S)
            except WaitTimeout:
                break
    shown = await rv_adapter.chat_texts(b)
    resync = ft.Resync(b.name, sent, shown, had=[earlier])
    rv_check.record(ft.judge_resync(resync, recovery, budget(rv_target), cut.how))


@pytest.mark.check(c.FT_003)
async def test_a_half_open_link_is_detected_and_replaced(
    rv_app: AppSession, rv_adapter: AppAdapter, rv_target: Target, rv_settings: RunSettings, rv_check: CheckRecord
) -> None:
    profile = rv_target.profile
    if rv_adapter.capabilities.heartbeat and profile.budgets.missed_pongs > 0:
        # Engine.IO's ping/pong still flows: only the app's own heartbeat can notice.
        interval = profile.budgets.heartbeat_interval_s
        expected = interval * (profile.budgets.missed_pongs + 1)
        rule = f"more than {profile.budgets.missed_pongs} missed {profile.events.health_pong} at {interval:g} s"
        mode = "zombie"
    else:
        interval = rv_target.handshake.ping_interval_s or profile.budgets.ping_interval_s
        expected = interval + (rv_target.handshake.ping_timeout_s or profile.budgets.ping_timeout_s)
        rule = "Engine.IO's ping timeout (pingInterval + pingTimeout)"
        mode = "half-open"
    bound = expected * 1.5 + 2 * interval
    disrupt.bound_check(bound + budget(rv_target), profile, rv_settings.run_profile, rule)
    page = await rv_app.page("a", cut=True)
    assert page.cutter is not None
    if not await page.rv.wait_upgraded(profile.socket_path, disrupt.UPGRADE_TIMEOUT_S):
        raise NotApplicable(f"the page's socket is on long-polling (see {c.RT_001}): a half-open link is a WebSocket's")
    before = await page.rv.connects()
    cut = disrupt.Cut(f"page A's link went {mode}: its socket stays open, nothing useful flows", disrupt.now_ms())
    if mode == "zombie":
        page.cutter.zombie()
    else:
        page.cutter.half_open()
    await page.rv.wait_disconnected(bound)
    page.cutter.heal()
    recovery = await disrupt.page_recovery(page, cut, before, budget(rv_target) + 5)
    rv_check.record(ft.judge_half_open(recovery, expected_s=expected, bound_s=bound, rule=rule))


@pytest.mark.check(c.FT_004)
async def test_clients_come_back_after_a_backend_restart(
    rv_app: AppSession, rv_adapter: AppAdapter, rv_target: Target, rv_markers: Markers, rv_check: CheckRecord
) -> None:
    assert rv_target.stack is not None, "BACKEND_RESTART is met only by the embedded stack"
    a, b = await rv_app.open_pages("a", "b")
    await rv_adapter.open_chat(a, rv_adapter.user("b"))
    await rv_adapter.open_chat(b, rv_adapter.user("a"))
    before = [await a.rv.connects(), await b.rv.connects()]
    cut = disrupt.Cut("the backend was restarted (a deploy)", disrupt.now_ms())
    await rv_target.stack.restart_backend()
    recoveries = await disrupt.recoveries(cut, budget(rv_target) + 5, pages=[(a, before[0]), (b, before[1])])
    judgement = ft.judge_recoveries(recoveries, budget(rv_target), how=cut.how, require_websocket=False)
    # Re-authenticated: a message sent after the restart is delivered through the new sockets.
    marker = rv_markers.next()
    lost = await observe.send_and_wait(rv_adapter, a, [b], marker)
    if lost is not None:
        raise CheckFailure(
            f"after the restart, {explain_lost(lost).message}: the sockets came back but the session did not",
            fix=c.FT_004.fix,
        )
    rv_check.record(judgement)


@pytest.mark.check(c.FT_005)
async def test_a_reconnect_storm_comes_back_within_budget(
    rv_app: AppSession, rv_target: Target, watcher_proxy: WatcherProxy, rv_check: CheckRecord
) -> None:
    count = rv_target.profile.faults.storm_clients
    if rv_target.profile.faults.storm_runner == "locust":
        await locust_storm(rv_app, rv_target, rv_check, count)
        return
    a, b = await rv_app.open_pages("a", "b", cut=True)
    url, network = through_proxy(rv_target.profile.socket_base, rv_target.network, watcher_proxy)
    role = "c" if rv_app.adapter.has_user("c") else "b"
    watchers = []
    for start in range(0, count, STORM_BATCH):  # connect in batches: a storm of our own making is not the test
        batch = [
            rv_app.watcher(role, reconnect=True, network=network, base_url=url, name=f"{i}", transports=["websocket"])
            for i in range(start, min(count, start + STORM_BATCH))
        ]
        watchers += await asyncio.gather(*batch)
        rv_check.say(f"storm: {len(watchers)} of {count} watchers connected")
    before = [await a.rv.connects(), await b.rv.connects()]
    cut = await disrupt.cut_everything(rv_target, (a, b), watcher_proxy)
    rv_check.say(f"storm: every connection cut; waiting up to {budget(rv_target) + 5:g} s for all to come back")
    recoveries = await disrupt.recoveries(
        cut, budget(rv_target) + 5, pages=[(a, before[0]), (b, before[1])], watchers=[(w, 1) for w in watchers]
    )
    rv_check.record(ft.judge_storm(recoveries, budget(rv_target), how=cut.how))


LOCUST_CONNECT_RATE = 200.0  # Locust users started per second


async def locust_storm(rv_app: AppSession, rv_target: Target, rv_check: CheckRecord, count: int) -> None:
    """FT-005 past one machine (`faults.storm_runner = "locust"`): a Locust master here, workers here
    or on other machines; every Locust user's cut → back time is judged as the watchers' would be.
    The pages stay out of it (FT-001 cuts them); Locust's logs are kept, redacted, as artifacts."""
    faults = rv_target.profile.faults
    expected = faults.storm_expect_workers or faults.storm_workers
    if not expected:
        raise ConfigError(
            "faults.storm_runner = 'locust' needs workers: faults.storm_workers (on this machine)"
            " or faults.storm_expect_workers (on others)"
        )
    missing = locust.locust_missing()
    if missing:
        raise SetupError(missing)
    role = "c" if rv_app.adapter.has_user("c") else "b"
    login = await rv_app.adapter.watcher_login(rv_app.adapter.user(role))
    host = urlsplit(rv_target.profile.socket_base).hostname or ""
    if host in rv_target.network.ports:
        raise NotApplicable(f"{host} is reached through a local port mapping, which Locust's clients cannot follow")
    address = rv_target.network.resolve.get(host)
    edge = disrupt.edge_allowed(rv_target)
    timeout_s = count / LOCUST_CONNECT_RATE * 3 + budget(rv_target) * 3 + 120
    rv_check.say(f"storm through Locust: {count} users over {expected} worker(s), bounded by {timeout_s:.0f} s")
    folder = Path(tempfile.mkdtemp(prefix="rv-locust-"))  # private (0700): Locust's logs may echo a token
    try:
        summary = await asyncio.to_thread(
            locust.run_locust_storm,
            rv_target.profile.socket_base,
            users=count,
            auth=login.auth or {},
            headers=login.headers,
            workers=faults.storm_workers,
            expect_workers=expected,
            master_bind=faults.storm_master_bind,
            master_port=faults.storm_master_port,
            rate=LOCUST_CONNECT_RATE,
            cut="edge" if edge else "client",
            control_url=rv_target.stack.info.control_url if edge and rv_target.stack else "",
            budget_s=budget(rv_target),
            resolve=f"{host}={address}" if address else "",
            ca_file=str(rv_target.network.ca_file or ""),
            socket_path=rv_target.profile.socket_path,
            timeout_s=timeout_s,
            folder=folder,
        )
    except locust.StormError as error:
        raise SetupError(f"the Locust storm could not run: {rv_app.redactor.text(str(error))}") from None
    finally:
        rv_check.artifacts += keep_logs(folder, rv_app)
    how = (
        f"the edge dropped every connection (RST) under {summary.users} Locust users"
        if edge
        else f"each Locust worker cut its own users' sockets ({summary.users} users)"
    )
    judgement = ft.judge_locust_storm(
        summary.samples_ms,
        summary.users,
        summary.connected,
        budget(rv_target),
        how=how,
        rate=LOCUST_CONNECT_RATE,
        error=summary.error,
    )
    judgement.metrics["runner"] = f"Locust, {summary.workers} worker(s)"
    judgement.metrics["connect p95 ms"] = summary.connect_ms.get("p95")
    rv_check.record(judgement)


def keep_logs(folder: Path, rv_app: AppSession) -> list[str]:
    """Locust's logs, redacted, into this check's artifacts; the private folder is removed."""
    kept = []
    for log in sorted(folder.glob("*.log")):
        destination = rv_app.folder / "locust" / log.name
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text(rv_app.redactor.text(log.read_text(errors="replace")))
        kept.append(str(destination))
    shutil.rmtree(folder, ignore_errors=True)
    return kept


@pytest.mark.check(c.FT_006)
async def test_an_idle_connection_outlives_every_idle_timeout(
    rv_app: AppSession, rv_target: Target, rv_settings: RunSettings, rv_check: CheckRecord
) -> None:
    """Idle: a page, and a watcher that has only Engine.IO's ping to keep it alive (as a background
    tab whose timers the browser throttles, or a mobile client). Neither may be cut."""
    profile = rv_target.profile
    limits = {}
    if profile.target.behind_cloudflare:
        limits["the edge's idle timeout"] = profile.budgets.edge_idle_timeout_s
    nginx = profile.budgets.nginx_read_timeout_s
    if nginx is None and profile.config_files.nginx:
        found = socket_read_timeout(
            Path(profile.config_files.nginx),
            profile.socket_path,
            nginx_root=Path(profile.config_files.nginx_root) if profile.config_files.nginx_root else None,
        )
        nginx = found[0] if found else None
    if nginx is not None:
        limits["nginx's proxy_read_timeout"] = nginx
    if not limits:
        raise NotApplicable(
            "no idle timeout is known on the path: the target is not behind Cloudflare and nginx's read"
            " timeout is unknown (config_files.nginx, budgets.nginx_read_timeout_s)"
        )
    window = max(limits.values()) * 1.2 + 2
    disrupt.bound_check(window, profile, rv_settings.run_profile, f"an idle window of {window:.0f} s")
    page = await rv_app.page("a")
    watcher = await rv_app.watcher("b", name="b (Engine.IO only)")
    cut = disrupt.Cut("no traffic from the suite (idle)", disrupt.now_ms())
    freeze = 0.0
    if rv_target.stack is not None and "backend" in profile.faults.allowed:
        # One late ping, as a GC pause makes it: the server freezes just before the watcher's next ping
        # is due, so the link is silent for pingInterval + pingTimeout / 2. Socket.IO tolerates it; a
        # proxy whose read timeout sits between the two (it only *looks* right) cuts the socket.
        interval = rv_target.handshake.ping_interval_s or profile.budgets.ping_interval_s
        timeout = rv_target.handshake.ping_timeout_s or profile.budgets.ping_timeout_s
        lateness = 0.5 * timeout  # late by half of what Socket.IO tolerates
        lead = min(0.25 * timeout, 0.5 * interval)  # the freeze begins this long before the ping is due
        freeze = lead + lateness  # shorter than pingTimeout: a pong in flight is not missed
        for _attempt in range(3):
            ping_at = await disrupt.next_ping(watcher, interval * 2, cut)
            if ping_at is None:
                break
            # The freeze starts once the pong of this ping is long processed (a server frozen with a
            # pong unread would judge the client silent) and ends at an absolute time: a slow request
            # cannot make the next ping later than Socket.IO tolerates.
            next_ping_due = ping_at / 1000 + interval
            starts_at = await rv_target.stack.pause_backend_between(next_ping_due - lead, next_ping_due + lateness)
            if starts_at is not None:
                limits["one ping late by"] = lateness
                cut = disrupt.Cut(f"idle, and the server froze {freeze:g} s before a ping was due", starts_at * 1000)
                break
            # The request came too late to freeze the app before its next ping: try on the next one.
        else:
            rv_check.metrics["late ping"] = "not tried: the app could not be frozen before its next ping (3 tries)"
    tolerance = profile.budgets.heartbeat_interval_s * (profile.budgets.missed_pongs + 1)
    # The page's own heartbeat notices a frozen server sooner than the freeze ends, as it is designed
    # to: that is no cut, and the page's drop must not end the watcher's idle window early.
    judge_page = "one ping late by" not in limits or not profile.app.heartbeat or tolerance > freeze
    rv_check.say(f"idle for up to {window:.0f} s, past every idle timeout on the path")
    # The window is the observation: a disconnect ends it early, and a watcher already cut since the
    # idle began has failed it (the judgement names the watcher first): nothing left to wait for.
    if not disrupt.cut_since(watcher, cut):
        await first_disconnect(page if judge_page else None, watcher, window)
    timeouts = ", ".join(f"{name} {value:g} s" for name, value in limits.items())
    recoveries = [ft.Recovery(f"watcher {watcher.name}", cut.at, list(watcher.timeline), True)]
    if judge_page:
        recoveries.append(ft.Recovery(page.name, cut.at, await page.rv.timeline(), True))
    else:
        rv_check.metrics[f"{page.name} during the freeze"] = (
            f"not judged: its heartbeat gives up after {tolerance:g} s, the freeze lasted {freeze:g} s"
        )
    rv_check.record(ft.judge_idle(recoveries, window, timeouts))


async def first_disconnect(page: AppPage | None, watcher: Watcher, window_s: float) -> None:
    """Wait until the page (when it is judged) or the watcher loses its connection, or the window ends."""
    waits = [asyncio.ensure_future(watcher.wait_disconnect(window_s))]
    if page is not None:
        waits.append(asyncio.ensure_future(page.rv.wait_disconnected(window_s)))
    done, pending = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    if pending and not any(task.result() for task in done):  # no disconnect yet: wait for the other
        await asyncio.wait(pending)
    for task in pending:
        task.cancel()


@pytest.mark.check(c.FT_007)
async def test_the_page_reconnects_after_going_offline(
    rv_app: AppSession, rv_adapter: AppAdapter, rv_target: Target, rv_markers: Markers, rv_check: CheckRecord
) -> None:
    a, b = await rv_app.open_pages("a", "b")
    host = urlsplit(rv_target.base_url).hostname
    if host == "localhost":
        raise NotApplicable(
            "the page is served from localhost, where socket.io-client ignores the browser's offline event"
            " (serve it from 127.0.0.1 or a name)"
        )
    await disrupt.require_websocket(a)
    chat = rv_adapter.capabilities.chat != "none"
    had = []
    if chat:
        await rv_adapter.open_chat(a, rv_adapter.user("b"))
        await rv_adapter.open_chat(b, rv_adapter.user("a"))
        had.append(rv_markers.next())
        lost = await observe.send_and_wait(rv_adapter, b, [a], had[0])
        if lost is not None:
            raise CheckFailure(f"before any fault: {explain_lost(lost).message}", fix=c.RT_002.fix)
    before = await a.rv.connects()
    cut = disrupt.Cut("page A's browser went offline", disrupt.now_ms())
    await a.page.context.set_offline(True)
    noticed = await a.rv.wait_disconnected(5)
    sent = []
    if noticed and chat and rv_adapter.capabilities.resync:
        marker = rv_markers.next()
        sent.append(marker)
        await rv_adapter.send_chat(b, observe.chat_text(marker))
        await b.rv.wait_rendered(marker, observe.RENDER_TIMEOUT_S)
    await a.page.context.set_offline(False)
    recovery = await disrupt.page_recovery(a, cut, before, budget(rv_target) + 5)
    if not noticed:
        raise CheckFailure(
            "page A did not notice going offline within 5 s: its socket stays open and holds every frame",
            fix="listen to the browser's offline event (socket.io-client does unless the page is on localhost)",
        )
    judgement = ft.judge_recoveries([recovery], budget(rv_target), how=cut.how, require_websocket=False)
    if sent and recovery.reconnected:
        for marker in sent:
            try:
                await a.rv.wait_rendered(marker, observe.RENDER_TIMEOUT_S)
            except WaitTimeout:
                break
        shown = await rv_adapter.chat_texts(a)
        judgement = ft.judge_resync(ft.Resync(a.name, sent, shown, had=had), recovery, budget(rv_target), cut.how)
    rv_check.record(judgement)
