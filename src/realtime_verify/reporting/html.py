"""report.html: one self-contained page for the person who signs the release.

Read top to bottom it answers, in order: may I sign (the verdict, in colour), what failed and how
to fix it (the first failure along the path first: the layers below cause the ones above), then
the evidence: checks by family, what was skipped and why, latency against its budget, reconnect
timelines, the trend over past runs, the environment, and the sign-off block, which a run that
did not pass never shows. Inline CSS, no script, no network: it reads the same from a CI artifact.

    render_html(report, history=[...], folder=...)   the page, as a string
    write_html(report, folder)                        report.html in `folder`, with its history.jsonl
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from importlib import resources
from pathlib import Path, PurePosixPath
from typing import Any

from realtime_verify.catalogue import CATALOGUE
from realtime_verify.outcome import CheckResult, Status
from realtime_verify.reporting import sections
from realtime_verify.reporting.humane import duration, label_of, plural, relative_link, text
from realtime_verify.reporting.summary import RunReport, history_line
from realtime_verify.reporting.trend import comparable, read_history

BLOCKING = (Status.FAILED, Status.ERROR, Status.NOT_RUN)
HEADLINES = {
    "PASSED": "ready to sign",
    "FAILED": "not ready to sign",
    "ERROR": "not ready to sign",
    "UNREACHABLE": "the target could not be verified",
    "INTERRUPTED": "the run was stopped before its end",
    "NOTHING VERIFIED": "nothing was judged",
}
# In the order a person opens them: the picture, then what the page said, then the frames, the trace.
ARTIFACT_NAMES = {
    "screenshot.png": "screenshot",
    "console.log": "console log",
    "socket-frames.json": "socket frames",
    "trace.zip": "trace",
}


def write_html(report: RunReport, folder: Path) -> Path:
    """report.html in `folder`, its trend read from the history.jsonl beside it."""
    path = folder / "report.html"
    page = render_html(report, history=read_history(folder / "history.jsonl"), folder=folder)
    path.write_text(page, encoding="utf-8")
    return path


def render_html(report: RunReport, *, history: Sequence[dict[str, Any]] = (), folder: Path | None = None) -> str:
    """The page. `history`: earlier history.jsonl lines; `folder`: where the page goes (for links)."""
    runs = comparable(list(history), history_line(report))
    ordered = sorted(report.checks, key=_catalogue_order)
    failing = [r for r in ordered if r.status in BLOCKING]
    warned = [r for r in ordered if r.status is Status.WARNING]
    skipped = [r for r in ordered if r.status is Status.SKIPPED]
    title = f"{report.verdict}: {report.target}" + (f" {report.label}" if report.label else "")
    body = [
        _verdict(report, failing, skipped),
        "<main>",
        _toc(report, failing, warned, skipped),
        _failures(report, failing, warned, folder),
        sections.families(ordered),
        sections.skipped(skipped, report.capabilities),
        sections.latency(ordered),
        sections.timelines(ordered, report.run_profile),
        sections.trend(runs, ordered),
        _environment(report, folder),
        _signoff(report, failing, skipped),
        "</main>",
    ]
    return (
        "<!doctype html>\n<html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>realtime-verify {escape(title)}</title><style>{_css()}</style></head><body>\n"
        + "\n".join(part for part in body if part)
        + "\n</body></html>\n"
    )


def _css() -> str:
    return resources.files("realtime_verify.reporting").joinpath("report.css").read_text(encoding="utf-8")


def _catalogue_order(result: CheckResult) -> tuple[int, str]:
    ids = CATALOGUE.ids
    return (ids.index(result.check_id) if result.check_id in ids else len(ids), result.check_id)


def _judged(report: RunReport) -> tuple[int, int]:
    total = len(report.checks)
    return total - report.counts.get("skipped", 0) - report.counts.get("not run", 0), total


# The verdict ---------------------------------------------------------------------------------------


def _verdict(report: RunReport, failing: list[CheckResult], skipped: list[CheckResult]) -> str:
    verdict = report.verdict
    judged, total = _judged(report)
    headline = HEADLINES.get(verdict, "")
    thin = verdict == "PASSED" and total > 0 and len(skipped) * 2 > total
    if verdict == "PASSED" and report.faults:
        headline = "a fault drill, not a release verdict"
    elif thin:
        headline = "for what it judged: most checks were skipped"
    failed = [r for r in failing if r.status is Status.FAILED]
    if failed:
        lede = f"{len(failed)} of {total} checks failed: " + ", ".join(r.check_id for r in failed)
        others = len(failing) - len(failed)
        lede += f"; {others} more could not be judged" if others else ""
    elif failing:
        lede = f"{len(failing)} of {total} {plural(total, 'check')} could not be judged"
    elif report.error:
        lede = "The run ended before its checks."
    else:
        warned = report.counts.get("warning", 0)
        lede = f"{judged} of {total} checks judged, none failed" + (f", {warned} with a warning" if warned else "")
    facts = [
        ("Target", report.target + (" (embedded reference stack)" if report.embedded else "")),
        ("Build", report.label or "not given (run with --label)"),
        ("Profile", report.run_profile),
        ("Finished", report.finished.replace("T", " ").replace("Z", " UTC")),
        ("Took", duration(report.duration_s)),
    ]
    flags = []
    if report.faults:
        flags.append(
            "<p class='flag drill'><strong>Fault drill.</strong> Faults were switched on in the embedded stack"
            f" ({escape(', '.join(report.faults))}): this run proves the suite catches them. It is not a verdict on"
            " any release, and its trend point is drawn hatched.</p>"
        )
    if report.error:
        flags.append(f"<p class='flag'><strong>The run ended before its checks: {escape(report.error)}</strong></p>")
    if thin:
        flags.append(
            f"<p class='flag'><strong>Only {judged} of {total} checks judged:</strong> {len(skipped)} skipped —"
            " <a href='#skipped'>see why</a>. A pass says nothing of what was not judged.</p>"
        )
    css = "v-" + verdict.split()[0].lower()
    return (
        f"<header class='verdict {css}'><div class='inner'>"
        f"<h1>{escape(verdict)} <span class='sub'>— {escape(headline)}</span></h1>"
        f"<p class='lede'>{escape(lede)}</p><dl class='facts'>"
        + "".join(f"<div><dt>{k}</dt><dd>{escape(v)}</dd></div>" for k, v in facts)
        + "</dl>"
        + "".join(flags)
        + "</div></header>"
    )


def _toc(report: RunReport, failing: list[CheckResult], warned: list[CheckResult], skipped: list[CheckResult]) -> str:
    links = [("#failed", f"What failed ({len(failing)})")] if failing else []
    links += [("#warnings", f"Warnings ({len(warned)})")] if warned else []
    links += [
        ("#checks", f"Checks ({len(report.checks)})"),
        ("#skipped", f"Skipped ({len(skipped)})"),
        ("#latency", "Latency"),
        ("#timelines", "Reconnects"),
        ("#trend", "Trend"),
        ("#environment", "Environment"),
        ("#signoff", "Sign-off"),
    ]
    return "<nav class='toc'>" + "".join(f"<a href='{href}'>{escape(name)}</a>" for href, name in links) + "</nav>"


# What failed --------------------------------------------------------------------------------------


def _failures(report: RunReport, failing: list[CheckResult], warned: list[CheckResult], folder: Path | None) -> str:
    parts: list[str] = []
    if failing:
        parts.append("<h2 id='failed'>What failed</h2>")
        if len(failing) > 1:
            parts.append(
                "<p class='muted'>In the order of the path (files, edge, handshake, browsers): a failure lower"
                " down is usually the cause of the ones after it, so start with the first.</p>"
            )
        not_run = [r for r in failing if r.status is Status.NOT_RUN]
        for index, result in enumerate(r for r in failing if r.status is not Status.NOT_RUN):
            parts.append(_card(result, folder, first=index == 0))
        if not_run:
            reasons = dict.fromkeys(r.message for r in not_run)
            parts.append(
                f"<div class='card'><h3><span class='st st-not-run'>NOT RUN</span> {len(not_run)}"
                f" {plural(len(not_run), 'check')}:"
                f" {escape(', '.join(r.check_id for r in not_run))}</h3>"
                + "".join(f"<p class='seen'>{escape(reason or 'the run ended before them')}</p>" for reason in reasons)
                + "</div>"
            )
    if warned:
        parts.append("<h2 id='warnings'>Warnings</h2>")
        parts.append("<p class='muted'>These passed, with something a person should look at.</p>")
        parts += [_card(result, folder, first=False) for result in warned]
    return "\n".join(parts)


def _card(result: CheckResult, folder: Path | None, *, first: bool) -> str:
    status = result.status.value.replace(" ", "-")
    errors = [f for f in result.findings if result.status is not Status.FAILED or f.severity == "error"]
    body = [
        f"<h3>{'<span class=start>START HERE</span>' if first else ''}<span class='st st-{status}'>"
        f"{escape(sections.status_label(result))}</span> <code>{escape(result.check_id)}</code>"
        f" {escape(result.title)}</h3>",
    ]
    if len(errors) > 1:
        body.append(
            "<ul>"
            + "".join(
                f"<li>{escape(f.line())}{f'<div class=small>fix: {escape(f.fix)}</div>' if f.fix else ''}</li>"
                for f in errors
            )
            + "</ul>"
        )
    elif result.message:
        body.append(f"<p class='seen'>{escape(result.message)}</p>")
    if result.fix:
        body.append(f"<p class='fix'><b>Fix:</b> {escape(result.fix)}</p>")
    meta = [f"<span class='time'>took {escape(duration(result.duration_s))}</span>"]
    if result.metrics:
        meta.append(escape(text(result.metrics, limit=400)))
    body.append(f"<p class='small muted'>{' · '.join(meta)}</p>")
    body.append(artifact_links(result.artifacts, folder))
    css = "card first" if first else "card warn" if result.status is Status.WARNING else "card"
    return f"<section class='{css}' id='{escape(result.check_id)}'>{''.join(body)}</section>"


def artifact_links(paths: Sequence[str], folder: Path | None) -> str:
    """Links per page folder: `page A: screenshot · console log · socket frames · trace`."""
    if not paths:
        return ""
    known = list(ARTIFACT_NAMES)
    pages: dict[str, list[tuple[int, str]]] = {}
    for path in paths:
        posix = PurePosixPath(relative_link(path, folder))
        page = posix.parent.name.split("-", 1)[-1].replace("-", " ") if posix.parent.name else "run"
        name = ARTIFACT_NAMES.get(posix.name, posix.name)
        rank = known.index(posix.name) if posix.name in known else len(known)
        pages.setdefault(page, []).append((rank, f"<a href='{escape(str(posix))}'>{escape(name)}</a>"))
    return (
        "<div class='artifacts'>"
        + "".join(
            f"<div><b>{escape(page)}</b>: {' · '.join(link for _, link in sorted(links))}</div>"
            for page, links in pages.items()
        )
        + "</div>"
    )


# Environment and sign-off -------------------------------------------------------------------------


def _environment(report: RunReport, folder: Path | None) -> str:
    rows: list[tuple[str, str]] = [
        ("build verified", report.label or "not given: pass --label (a version, a commit) to name it"),
        ("target", report.target + (" (embedded reference stack)" if report.embedded else "")),
        ("profile", report.run_profile),
        ("faults switched on", ", ".join(report.faults) or "none"),
        ("started", report.started),
        ("finished", report.finished),
        ("took", duration(report.duration_s)),
        ("run id", report.run_id),
        ("exit status", str(report.exit_status)),
    ]
    rows += [(name, version) for name, version in report.versions.items()]
    rows += [(label_of(key), text(value)) for key, value in report.values.items()]
    settings = (
        "<ul class='small'>" + "".join(f"<li><code>{escape(line)}</code></li>" for line in report.settings) + "</ul>"
        if report.settings
        else "<p class='small muted'>Every setting at its default.</p>"
    )
    return (
        "<h2 id='environment'>Environment and versions</h2><dl class='kv'>"
        + "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in rows)
        + "</dl><h3>Effective settings</h3>"
        + settings
        + artifact_links(report.artifacts, folder)
    )


def _signoff(report: RunReport, failing: list[CheckResult], skipped: list[CheckResult]) -> str:
    judged, total = _judged(report)
    if report.verdict != "PASSED" or report.faults:
        why = (
            f"faults were switched on ({', '.join(report.faults)}): a drill is never signed"
            if report.faults and report.verdict == "PASSED"
            else f"the verdict is {report.verdict}"
            + (f": {len(failing)} checks did not pass ({', '.join(r.check_id for r in failing)})" if failing else "")
        )
        return (
            f"<h2 id='signoff'>Sign-off</h2><div class='notready'><b>Not ready to sign</b> — {escape(why)}."
            " Fix what failed and run the suite again; this block appears on a run that passed.</div>"
        )
    scope = f"{judged} of {total} checks judged" + (f", {len(skipped)} skipped (listed above)" if skipped else "")
    build = report.label or "(build not named)"
    return (
        "<h2 id='signoff'>Sign-off</h2><div class='signoff'>"
        f"<p>The real-time layer of <b>{escape(report.target)}</b>, build <b>{escape(build)}</b>, was verified"
        f" with the <b>{escape(report.run_profile)}</b> profile on {escape(report.finished)}: {escape(scope)}.</p>"
        "<table><tr><th>Name</th><th>Role</th><th>Date</th><th>Signature</th></tr>"
        "<tr><td></td><td></td><td></td><td></td></tr></table></div>"
    )
