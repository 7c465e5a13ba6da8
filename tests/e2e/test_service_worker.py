"""SW-*: a new service worker takes over open tabs, and no worker touches the socket's traffic."""

from __future__ import annotations

import contextlib
import secrets
from typing import Any

import pytest
from playwright.async_api import CDPSession, Response
from playwright.async_api import TimeoutError as PlaywrightTimeout

from realtime_verify import catalogue as c
from realtime_verify import disrupt
from realtime_verify.adapter import AppAdapter
from realtime_verify.checks import serviceworker as sw
from realtime_verify.errors import CheckFailure
from realtime_verify.pages import AppPage
from realtime_verify.run import CheckRecord
from realtime_verify.session import AppSession
from realtime_verify.target import Target

CONTROL_TIMEOUT_S = 10.0


async def controlled(page: AppPage) -> bool:
    """Wait (bounded) until the page is under a service worker's control."""
    try:
        await page.page.wait_for_function(
            "navigator.serviceWorker && navigator.serviceWorker.controller !== null", timeout=CONTROL_TIMEOUT_S * 1000
        )
    except PlaywrightTimeout:
        return False
    return True


async def must_be_controlled(page: AppPage) -> None:
    if not await controlled(page):
        raise CheckFailure(f"{page.name} never came under its service worker's control", fix=c.SW_001.fix)


async def workers(page: AppPage, *, update: bool = False) -> dict[str, str | None]:
    """The page's registration: the state of its installing, waiting and active workers (after an
    update check, when asked)."""
    state: dict[str, str | None] = await page.page.evaluate(
        """async (update) => {
            const r = await navigator.serviceWorker.getRegistration();
            if (!r) return {};
            if (update) await r.update().catch((e) => console.warn("[rv] update check failed:", e.message));
            return {installing: r.installing?.state ?? null, waiting: r.waiting?.state ?? null,
                    active: r.active?.state ?? null};
        }""",
        update,
    )
    return state


class Versions:
    """The service-worker versions of a page's browser context, as Chromium's DevTools protocol reports them.

    Chromium activates a worker that called skipWaiting() only once the old one has no work left, and it
    hurries an idle old worker along only if that one is running at that moment. When a request of the
    page is starting the old worker just then, activation waits for its idle timeout (30 s, up to 5 min
    when the page keeps it busy): measured on this machine with an app that did post SKIP_WAITING.
    The browser may stop an idle worker at any time; the suite does so once, so the judgement is about
    the app (did it ask the worker to skip waiting?) and not about that race.
    """

    def __init__(self, cdp: CDPSession) -> None:
        self.cdp = cdp
        self.by_id: dict[str, dict[str, Any]] = {}
        cdp.on("ServiceWorker.workerVersionUpdated", self._updated)

    @classmethod
    async def watch(cls, page: AppPage) -> Versions:
        versions = cls(await page.page.context.new_cdp_session(page.page))
        await versions.cdp.send("ServiceWorker.enable")
        return versions

    def _updated(self, event: dict[str, Any]) -> None:
        for version in event.get("versions", []):
            self.by_id[version["versionId"]] = version

    async def stop_superseded(self) -> bool:
        """Stop the active worker while a newer one waits (what the browser's idle timeout would do).
        False when the protocol reported no such pair."""
        active = [v["versionId"] for v in self.by_id.values() if v["status"] == "activated"]
        waiting = [v for v in self.by_id.values() if v["status"] == "installed"]
        if not active or not waiting:
            return False
        for version_id in active:
            await self.cdp.send("ServiceWorker.stopWorker", {"versionId": version_id})
        return True


@pytest.mark.check(c.SW_001)
async def test_a_new_service_worker_takes_over_every_open_tab(
    rv_app: AppSession, rv_adapter: AppAdapter, rv_target: Target, rv_check: CheckRecord
) -> None:
    assert rv_target.stack is not None, "a new sw.js is served by restarting the embedded backend"
    first = await rv_app.page("a", "tab 1", connect=False)
    await must_be_controlled(first)
    # Tab 2 opens once tab 1 is controlled: a document still loading while the first worker activated
    # is not reached by its clients.claim(), and stays uncontrolled until reloaded (seen under load).
    second = await rv_app.tab(first, "tab 2", connect=False)
    await must_be_controlled(second)
    tabs = (first, second)
    was_connected = [await tab.rv.wait_connected(rv_target.profile.target.connect_timeout_s) for tab in tabs]
    versions = await Versions.watch(first)
    version = f"rv-{secrets.token_hex(3)}"
    updated = disrupt.now_ms()
    await rv_target.stack.restart_backend(app_version=version)  # a deploy: a changed sw.js is served
    # The browser looks for a new worker on its next navigation; the suite asks at once instead.
    await workers(first, update=True)
    budget = rv_target.profile.budgets.reconnect_s
    banner = rv_target.profile.ui.version_banner
    seen = []
    stopped_old = False
    for tab, connected_before in zip(tabs, was_connected, strict=True):
        took_over = await tab.rv.wait_timeline("sw-controllerchange", after=updated, timeout_s=budget / 2)
        state = None
        if took_over is None:
            state = await workers(tab)
            if state.get("waiting"):
                stopped_old = await versions.stop_superseded() or stopped_old
            elif not state.get("installing"):
                # The update check found nothing new (it can race the deploy): ask once more.
                await workers(tab, update=True)
            took_over = await tab.rv.wait_timeline("sw-controllerchange", after=updated, timeout_s=budget / 2)
            state = None if took_over is not None else await workers(tab)
        if took_over is None:
            # The judgement stops at the first tab the new worker never reached: no banner to wait for.
            seen.append(sw.TabUpdate(tab.name, None, None, connected_before, False, state, stopped_old=stopped_old))
            break
        text = None
        if banner:
            locator = tab.page.locator(banner)
            with contextlib.suppress(PlaywrightTimeout):
                await locator.filter(has_text=version).first.wait_for(state="visible", timeout=budget * 1000)
            text = (await locator.first.text_content() or "").strip() if await locator.count() else ""
        reconnected = await tab.rv.wait_connected(budget) if connected_before else False
        took_over_ms = took_over - updated
        seen.append(sw.TabUpdate(tab.name, took_over_ms, text, connected_before, reconnected, stopped_old=stopped_old))
    rv_check.record(sw.judge_sw_update(seen, version, budget))


@pytest.mark.check(c.SW_002)
async def test_the_service_worker_never_answers_socket_requests(
    rv_app: AppSession, rv_target: Target, rv_check: CheckRecord
) -> None:
    page = await rv_app.page("a", connect=False)
    path = rv_target.profile.socket_path
    responses: list[Response] = []
    page.page.on("response", lambda response: responses.append(response) if path in response.url else None)
    is_controlled = await controlled(page)
    if is_controlled:
        # A socket request from the page itself, as long-polling makes them: through the worker, if it takes it.
        await page.page.evaluate(
            "(path) => fetch(path + '?EIO=4&transport=polling&t=rv' + Date.now()).then(r => r.text(), () => '')",
            path,
        )
    cached = await page.page.evaluate(
        """async (path) => {
            const found = [];
            for (const name of await caches.keys()) {
                for (const request of await (await caches.open(name)).keys()) {
                    if (new URL(request.url).pathname.startsWith(path)) found.push(request.url);
                }
            }
            return found;
        }""",
        path,
    )
    seen = sw.SocketRequests(
        controlled=is_controlled,
        requests=len(responses),
        from_service_worker=[r.url for r in responses if r.from_service_worker],
        cached=cached,
    )
    rv_check.record(sw.judge_sw_bypass(seen))
