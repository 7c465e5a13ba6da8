"""The evidence sections of report.html: checks by family, skipped checks, latency, reconnect
timelines and the trend. Each takes results (already redacted) and returns escaped HTML.
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from realtime_verify.catalogue import Family
from realtime_verify.outcome import CheckResult, Status
from realtime_verify.reporting import plots
from realtime_verify.reporting.format import ORDER, key_figure, label
from realtime_verify.reporting.humane import NONE, duration, key_value, ms, short_path, text
from realtime_verify.reporting.trend import PastRun

CHECKED_SHOWN = 4
# Fixed widths, so the tables of several checks line up under one another.
LATENCY_COLUMNS = (
    "<colgroup><col><col style='width:336px'><col style='width:3rem'><col style='width:5.5rem'>"
    "<col style='width:5.5rem'><col style='width:5.5rem'><col style='width:6.5rem'><col style='width:5.5rem'>"
    "</colgroup>"
)


def status_label(result: CheckResult) -> str:
    return label(result)


def _status_cell(result: CheckResult) -> str:
    css = result.status.value.replace(" ", "-")
    return f"<span class='st st-{css}'>{escape(status_label(result))}</span>"


# Checks by family ----------------------------------------------------------------------------------


def families(results: Sequence[CheckResult]) -> str:
    """A fold per family, open when something in it needs a look; counts in its summary line."""
    grouped: dict[str, list[CheckResult]] = {}
    for result in results:
        grouped.setdefault(result.family, []).append(result)
    order = [f.value for f in Family] + sorted(set(grouped) - {f.value for f in Family})
    parts = [
        "<h2 id='checks'>Checks by family</h2>",
        "<p class='muted small'>A family whose checks all passed is folded: click it to see what each check saw.</p>",
    ]
    for name in order:
        members = grouped.get(name)
        if not members:
            continue
        try:
            description = Family(name).description
        except ValueError:
            description = ""
        counts = {status: sum(1 for r in members if r.status is status) for status in ORDER}
        chips = "".join(
            f"<span class='chip {status.value.replace(' ', '-')}'>{n} {escape(status.value)}</span>"
            for status, n in counts.items()
            if n
        )
        attention = any(r.status in (Status.FAILED, Status.ERROR, Status.NOT_RUN, Status.WARNING) for r in members)
        rows = "".join(_check_row(result) for result in members)
        parts.append(
            f"<details class='family'{' open' if attention else ''}><summary><span class='fam-id'>{escape(name)}</span>"
            f"{escape(description)}<span class='chips'>{chips}</span></summary>"
            "<table><tr><th>ID</th><th>Status</th><th>Check, and what it saw</th><th class='time'>Time</th></tr>"
            f"{rows}</table></details>"
        )
    return "\n".join(parts)


def _check_row(result: CheckResult) -> str:
    lines: list[str] = []
    if result.status is Status.PASSED:
        figure = key_figure(result)
        seen = text(result.metrics, limit=240) if result.metrics else ""
        if seen and seen != NONE:
            lines.append(f"<div class='detail'>{escape(seen)}</div>")
        elif figure:
            lines.append(f"<div class='detail'>{escape(figure)}</div>")
    elif result.message:
        css = "detail" if result.status is Status.SKIPPED else "detail bad"
        first = result.message.splitlines()[0]
        # Failed and warned checks have a card above, with the fix: link to it.
        up = "" if result.status in (Status.SKIPPED, Status.NOT_RUN) else f" <a href='#{escape(result.check_id)}'>↑</a>"
        lines.append(f"<div class='{css}'>{escape(first[:300])}{up}</div>")
    if result.checked:
        shown = [short_path(c) if "/" in c.split(" ")[0] else c for c in result.checked[:CHECKED_SHOWN]]
        more = len(result.checked) - len(shown)
        lines.append(
            f"<div class='detail' title='{escape(text(result.checked, limit=2000))}'>looked at: "
            + escape("; ".join(shown))
            + (f"; and {more} more" if more > 0 else "")
            + "</div>"
        )
    return (
        f"<tr><td class='id'><code>{escape(result.check_id)}</code></td><td class='status'>{_status_cell(result)}</td>"
        f"<td>{escape(result.title)}{''.join(lines)}</td>"
        f"<td class='time'>{escape(duration(result.duration_s))}</td></tr>"
    )


# Skipped -----------------------------------------------------------------------------------------


def skipped(results: Sequence[CheckResult], capabilities: Sequence[str]) -> str:
    declared = "".join(
        f"<div><dt>{escape(key.replace('_', ' '))}</dt><dd>{escape(value)}</dd></div>"
        for key, value in (key_value(line) for line in capabilities)
    )
    app = (
        "<h3>What the app declares</h3><p class='small muted'>From the target profile ([app], [auth], [ui],"
        f" [events]): a check that needs what the app lacks is skipped.</p><dl class='caps'>{declared}</dl>"
        if declared
        else "<p class='small muted'>The app's capabilities were not known (the run ended before the adapter).</p>"
    )
    if not results:
        return f"<h2 id='skipped'>Skipped checks</h2><p>None: no check was skipped for what the app lacks.</p>{app}"
    reasons: dict[str, list[str]] = {}
    for result in results:
        reasons.setdefault(result.message or "no reason given", []).append(result.check_id)
    rows = "".join(
        f"<tr><td class='nowrap'>{escape(', '.join(ids))}</td><td>{escape(reason)}</td></tr>"
        for reason, ids in reasons.items()
    )
    return (
        f"<h2 id='skipped'>Skipped checks ({len(results)})</h2>"
        "<p class='muted small'>Not judged, so a pass says nothing about them. Each reason names the setting"
        " that would let the check run.</p>"
        f"<table><tr><th>Checks</th><th>Why they were skipped</th></tr>{rows}</table>{app}"
    )


# Latency -----------------------------------------------------------------------------------------


def latency(results: Sequence[CheckResult]) -> str:
    measured = [(r, [s for s in r.latency if s.get("n")]) for r in results]
    measured = [(r, series) for r, series in measured if series]
    if not measured:
        return (
            "<h2 id='latency'>Latency</h2><p class='muted'>No latency was measured in this run"
            " (the checks that measure it did not pass, or did not run).</p>"
        )
    scale = plots.latency_scale([s for _, series in measured for s in series])
    parts = [
        "<h2 id='latency'>Latency, measured in the pages</h2>",
        "<p class='legend'>per segment:<i style='background:#0b5cad;height:4px'></i>to p50"
        "<i style='background:#9ec5fe;border:1px solid #0b5cad'></i>p50 to p95, then a whisker to the slowest"
        "<i style='border-left:2px dashed #cf222e;width:2px'></i>the p95 budget (an arrow at the edge when it lies"
        " far beyond)</p>",
    ]
    for result, series in measured:
        rows = "".join(_latency_row(s, scale) for s in series)
        parts.append(
            f"<h3><code>{escape(result.check_id)}</code> {escape(result.title)}</h3>"
            f"<table class='latency'>{LATENCY_COLUMNS}"
            f"<tr><th>Segment</th><th>{plots.latency_axis(scale)}</th><th class='num'>n</th><th class='num'>p50</th>"
            f"<th class='num'>p95</th><th class='num'>budget</th><th class='num'>p95 of budget</th>"
            f"<th class='num'>max</th></tr>{rows}</table>"
        )
    return "\n".join(parts)


def _latency_row(s: dict[str, Any], scale: float) -> str:
    budget = s.get("budget_ms")
    over = budget is not None and float(s.get("p95_ms") or 0) > float(budget)
    p95 = f"<span class='over'>{ms(s.get('p95_ms'))} ms</span>" if over else f"{ms(s.get('p95_ms'))} ms"
    return (
        f"<tr><td>{escape(str(s.get('segment', '')))}</td><td>{plots.latency_row(s, scale)}</td>"
        f"<td class='num'>{s.get('n', 0)}</td><td class='num'>{ms(s.get('p50_ms'))} ms</td><td class='num'>{p95}</td>"
        f"<td class='num'>{f'{float(budget):g} ms' if budget else NONE}</td>"
        f"<td class='num'>{_share(s.get('p95_ms'), budget)}</td>"
        f"<td class='num'>{ms(s.get('max_ms'))} ms</td></tr>"
    )


def _share(p95: Any, budget: Any) -> str:
    """How much of its budget the p95 uses: the one number a signer compares."""
    if not budget or p95 is None:
        return NONE
    share = 100 * float(p95) / float(budget)
    css = "over" if share > 100 else "muted" if share < 50 else ""
    return f"<span class='{css}'>{share:.0f} %</span>"


# Reconnect timelines -----------------------------------------------------------------------------


def timelines(results: Sequence[CheckResult], run_profile: str) -> str:
    drawn = [r for r in results if r.timelines]
    if not drawn:
        return (
            "<h2 id='timelines'>Reconnect timelines</h2><p class='muted'>No fault check drew a timeline in this run"
            f" ({escape(run_profile)} profile): the forced-disconnect checks record one per client when they run.</p>"
        )
    parts = [
        "<h2 id='timelines'>Reconnect timelines</h2>",
        "<p class='legend'>t = 0 is the moment the connection was cut.<i style='background:#cf222e;opacity:.35'></i>"
        "without a connection<i style='background:#1a7f37;border-radius:50%;width:9px;height:9px'></i>back"
        "<i style='background:#0b5cad;border-radius:50%;width:9px;height:9px'></i>data"
        "<i style='background:#8c959f;border-radius:50%;width:9px;height:9px'></i>other</p>",
    ]
    for result in drawn:
        events = sorted(
            (
                (float(e.get("t_ms", 0)), str(lane.get("client", "")), str(e.get("what", "")), str(e.get("detail", "")))
                for lane in result.timelines
                for e in lane.get("events") or []
            ),
            key=lambda e: e[0],
        )
        rows = "".join(
            f"<tr><td class='num'>{t:+.0f} ms</td><td>{escape(client)}</td><td>{escape(what)}</td>"
            f"<td class='small'>{escape(detail)}</td></tr>"
            for t, client, what, detail in events
        )
        parts.append(
            f"<h3>{_status_cell(result)} <code>{escape(result.check_id)}</code> {escape(result.title)}</h3>"
            f"{plots.timeline_svg(result.timelines)}"
            f"<details><summary class='small'>every event ({len(events)})</summary><table>"
            f"<tr><th class='num'>t</th><th>client</th><th>what</th><th>detail</th></tr>{rows}</table></details>"
        )
    return "\n".join(parts)


# Trend -------------------------------------------------------------------------------------------


def trend(runs: Sequence[PastRun], results: Sequence[CheckResult]) -> str:
    if len(runs) < 2:
        return (
            "<h2 id='trend'>Trend</h2><p class='muted'>This is the first run recorded in this folder's"
            " history.jsonl: keep that file between runs (a CI cache or artifact) and the trend appears here.</p>"
        )
    budgets: dict[str, float | None] = {
        s["segment"]: float(s["budget_ms"]) if s.get("budget_ms") else None
        for r in results
        for s in r.latency
        if s.get("segment")
    }
    segments = list(dict.fromkeys([*budgets, *(seg for run in runs for seg in run.p95_ms)]))
    drills = sum(1 for run in runs if run.drill)
    sparks = "".join(
        f"<div class='spark'><span class='name' title='{escape(seg)}'>{escape(seg)}</span>"
        f"{plots.p95_sparkline(runs, seg, budgets.get(seg))}"
        f"<span class='muted'>now: {_last_p95(runs, seg)}{_budget_note(budgets.get(seg))}</span></div>"
        for seg in segments
    )
    recent = "".join(
        f"<tr><td class='nowrap'>{escape(run.finished.replace('T', ' ').replace('Z', ''))}</td>"
        f"<td>{escape(run.label or NONE)}</td><td>{escape(run.profile)}</td>"
        f"<td><span class='st st-{_verdict_css(run)}'>{escape(run.verdict)}</span>"
        + (f" <span class='st st-warning'>DRILL: {escape(', '.join(run.faults))}</span>" if run.drill else "")
        + f"</td><td>{escape(', '.join(run.failed) or NONE)}</td></tr>"
        for run in reversed(runs[-10:])
    )
    return (
        f"<h2 id='trend'>Trend over the last {len(runs)} runs</h2>"
        f"<p>{plots.verdict_strip(runs)}</p>"
        "<p class='legend'>Oldest left, this run outlined. <i style='background:#1a7f37'></i>passed"
        "<i style='background:#cf222e'></i>failed<i style='background:repeating-linear-gradient(45deg,#fff,#fff 2px,"
        "#8c959f 2px,#8c959f 4px);height:12px'></i>fault drill (faults switched on: proves the suite, not a release)"
        + (f" — {drills} of these {len(runs)} runs were drills" if drills else "")
        + "</p>"
        + (
            "<h3>p95 per segment</h3><p class='legend'>Real runs joined by a line; drills as hollow rings, never"
            f" joined; the dashed red line is the budget.</p>{sparks}"
            if segments
            else ""
        )
        + "<h3>Recent runs</h3><table><tr><th>Finished (UTC)</th><th>Build</th><th>Profile</th><th>Verdict</th>"
        f"<th>Failed</th></tr>{recent}</table>"
    )


def _budget_note(budget: float | None) -> str:
    return f" · budget {budget:g} ms" if budget else ""


def _verdict_css(run: PastRun) -> str:
    # A drill's verdict is about the suite, not a release: grey, so it never reads as an alarm.
    return "skipped" if run.drill else "passed" if run.verdict == "PASSED" else "failed"


def _last_p95(runs: Sequence[PastRun], segment: str) -> str:
    value = runs[-1].p95_ms.get(segment)
    return f"p95 {ms(value)} ms" if value is not None else "not measured"
