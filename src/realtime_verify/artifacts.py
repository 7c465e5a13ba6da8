"""What a person needs to see after a failed check: screenshot, trace, console log, socket frame log.

Kept only on failure unless asked (`--screenshot on`, `--tracing on`, `--video on`), in one folder
per check and page, every text redacted. Each artifact is saved on its own: a screenshot that fails
does not lose the trace.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

from playwright.async_api import BrowserContext
from playwright.async_api import Error as PlaywrightError

from realtime_verify.pages import AppPage
from realtime_verify.reporting.redact import Redactor

logger = logging.getLogger("realtime_verify.artifacts")

ARTIFACT_MODES = ("on", "off", "retain-on-failure")
SCREENSHOT_MODES = ("on", "off", "only-on-failure")


@dataclass(frozen=True)
class ArtifactSettings:
    """The `--tracing`, `--video` and `--screenshot` choices of the run."""

    tracing: str = "off"
    video: str = "off"
    screenshot: str = "only-on-failure"
    screenshot_timeout_s: float = 5.0  # a page that never finished loading must not hold the run


async def save_page_artifacts(
    context: BrowserContext,
    app: AppPage,
    folder: Path,
    settings: ArtifactSettings,
    redactor: Redactor,
    *,
    failed: bool,
) -> list[str]:
    """Save one page's artifacts into `folder`; returns the paths written."""
    saved: list[Path] = []
    tracing = settings.tracing != "off"
    keep_trace = tracing and (failed or settings.tracing == "on")
    want_screenshot = settings.screenshot == "on" or (settings.screenshot == "only-on-failure" and failed)
    if failed or want_screenshot or keep_trace:
        folder.mkdir(parents=True, exist_ok=True)
    if want_screenshot:
        path = folder / "screenshot.png"
        try:
            await app.page.screenshot(path=str(path), full_page=True, timeout=settings.screenshot_timeout_s * 1000)
            saved.append(path)
        except PlaywrightError as error:
            logger.warning("%s: no screenshot: %s", app.name, error)
    if tracing:
        try:
            if keep_trace:
                trace = folder / "trace.zip"
                await context.tracing.stop(path=str(trace))
                # The page's own session cookies (set by its login) never passed through the suite.
                redactor.add(*(cookie["value"] for cookie in await context.cookies() if cookie.get("value")))
                redactor.zip(trace)
                saved.append(trace)
            else:
                await context.tracing.stop()
        except PlaywrightError as error:
            logger.warning("%s: no trace: %s", app.name, error)
    if failed:
        console = folder / "console.log"
        console.write_text(redactor.text("\n".join(app.console) + "\n"))
        saved.append(console)
        try:
            frames = await app.rv.frames()
            snapshot = await app.rv.snapshot()
            timeline = await app.rv.timeline()
        except PlaywrightError as error:
            logger.warning("%s: no frame log: %s", app.name, error)
        else:
            text = json.dumps({"snapshot": snapshot, "timeline": timeline, "frames": frames}, indent=1)
            log = folder / "socket-frames.json"
            log.write_text(redactor.text(text))
            saved.append(log)
    return [str(path) for path in saved]
