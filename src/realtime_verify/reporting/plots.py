"""Inline SVG for report.html: latency per segment, reconnect timelines, the trend over past runs.

Plain SVG markup, no script and no external font, so the page reads the same offline, printed, or
attached to a ticket. Every mark has a <title>: hovering it gives the exact number.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape
from typing import Any

from realtime_verify.reporting.humane import ms
from realtime_verify.reporting.trend import PastRun

PASS, FAIL, WARN, MUTED, INK = "#1a7f37", "#cf222e", "#9a6700", "#8c959f", "#24292f"
BOX, BAR = "#9ec5fe", "#0b5cad"
# How far past the slowest sample a budget may lie and still be drawn to scale: beyond, it would
# squeeze the distribution into a sliver, so it is marked at the edge instead.
BUDGET_ON_SCALE = 3.0

VERDICT_COLOURS = {
    "PASSED": PASS,
    "FAILED": FAIL,
    "ERROR": "#8b0000",
    "UNREACHABLE": "#8b0000",
    "INTERRUPTED": MUTED,
    "NOTHING VERIFIED": "#d0d7de",
}


def nice_ceiling(value: float) -> float:
    """The round number at or above `value` an axis can end on: 1, 2, 2.5, 5 times 10^n."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1.0, 2.0, 2.5, 5.0):
        if value <= step * power:
            return step * power
    return 10.0 * power


def latency_scale(series: Sequence[dict[str, Any]]) -> float:
    """One scale for the rows of a table, so their bars compare."""
    slowest = max((float(s.get("max_ms") or 0) for s in series), default=0.0)
    budgets = [float(s["budget_ms"]) for s in series if s.get("budget_ms")]
    in_reach = [b for b in budgets if b <= slowest * BUDGET_ON_SCALE]
    return nice_ceiling(max([slowest * 1.05, *in_reach]) or 1.0)


def latency_axis(scale: float, width: int = 320) -> str:
    ticks = [scale * i / 4 for i in range(5)]
    marks = "".join(
        f"<line x1='{_x(t, scale, width):.1f}' x2='{_x(t, scale, width):.1f}' y1='14' y2='18' stroke='{MUTED}'/>"
        f"<text x='{_x(t, scale, width):.1f}' y='11' font-size='10' fill='{MUTED}' text-anchor='{_anchor(i)}'>"
        f"{t:g}{' ms' if i == 4 else ''}</text>"
        for i, t in enumerate(ticks)
    )
    return f"<svg class='axis' viewBox='0 0 {width} 18' width='{width}' height='18' aria-hidden='true'>{marks}</svg>"


def latency_row(s: dict[str, Any], scale: float, width: int = 320) -> str:
    """One segment: p50 bar, p95 box, whisker to max, the samples when given, the budget in red."""
    p50, p95, top = (float(s.get(k) or 0) for k in ("p50_ms", "p95_ms", "max_ms"))
    budget = float(s["budget_ms"]) if s.get("budget_ms") else None
    over = budget is not None and p95 > budget
    x50, x95, xmax = (_x(v, scale, width) for v in (p50, p95, top))
    parts = [f"<rect x='0' y='4' width='{width}' height='16' fill='#f6f8fa'/>"]
    samples = [float(v) for v in s.get("samples_ms") or [] if isinstance(v, int | float)]
    for i, value in enumerate(samples):
        # A fixed jitter (golden ratio), so the same run draws the same picture.
        y = 6 + ((i * 0.618) % 1) * 12
        parts.append(f"<circle cx='{_x(value, scale, width):.1f}' cy='{y:.1f}' r='1.6' fill='{BAR}' opacity='.35'/>")
    parts += [
        f"<line x1='{x95:.1f}' x2='{xmax:.1f}' y1='12' y2='12' stroke='{INK}' stroke-width='1'/>",
        f"<line x1='{xmax:.1f}' x2='{xmax:.1f}' y1='8' y2='16' stroke='{INK}' stroke-width='1'/>",
        f"<rect x='{x50:.1f}' y='7' width='{max(x95 - x50, 1.5):.1f}' height='10'"
        f" fill='{'#ffb3b3' if over else BOX}' stroke='{FAIL if over else BAR}' stroke-width='1'/>",
        f"<rect x='0' y='10' width='{max(x50, 1):.1f}' height='4' fill='{BAR}'/>",
    ]
    if budget is not None:
        if budget <= scale:
            xb = _x(budget, scale, width)
            parts.append(
                f"<line x1='{xb:.1f}' x2='{xb:.1f}' y1='1' y2='23' stroke='{FAIL}' stroke-width='2'"
                f" stroke-dasharray='3 2'><title>budget {budget:g} ms</title></line>"
            )
        else:
            parts.append(
                f"<path d='M{width - 7} 6 L{width - 1} 12 L{width - 7} 18 Z' fill='{FAIL}'>"
                f"<title>budget {budget:g} ms, off this scale</title></path>"
            )
    title = f"p50 {ms(p50)} ms, p95 {ms(p95)} ms, max {ms(top)} ms" + (f", budget {budget:g} ms" if budget else "")
    return (
        f"<svg viewBox='0 0 {width} 24' width='{width}' height='24' role='img' aria-label='{escape(title)}'>"
        f"<title>{escape(title)}</title>{''.join(parts)}</svg>"
    )


def _x(value: float, scale: float, width: int) -> float:
    return max(0.0, min(width, width * value / scale)) if scale else 0.0


def _anchor(index: int) -> str:
    return "start" if index == 0 else "end" if index == 4 else "middle"


# Reconnect timelines -------------------------------------------------------------------------------

DOWN_WORDS = ("cut", "disconnect", "drop", "offline", "closed", "lost", "timeout", "error")
UP_WORDS = ("reconnect", "connected", "upgrade", "online", "open", "authenticated")
DATA_WORDS = ("resync", "fetch", "missed", "message", "received", "rendered", "update")


def event_kind(what: str) -> str:
    """down, up, data or other: the colour of an event's mark, from its `what`."""
    word = what.lower()
    if "reconnecting" in word or "attempt" in word:
        return "other"  # trying is not being back
    # "reconnected" contains "connected" and "disconnected" contains it too: judge "dis" first.
    if any(w in word for w in DOWN_WORDS) and not word.startswith("reconnect"):
        return "down"
    if any(w in word for w in UP_WORDS):
        return "up"
    if any(w in word for w in DATA_WORDS):
        return "data"
    return "other"


KIND_COLOURS = {"down": FAIL, "up": PASS, "data": BAR, "other": MUTED}


def timeline_svg(timelines: Sequence[dict[str, Any]], width: int = 760) -> str:
    """One lane per client; t = 0 is the cut; red from the client's first loss to its first recovery."""
    lanes = [t for t in timelines if isinstance(t.get("events"), list)]
    if not lanes:
        return ""
    times = [float(e.get("t_ms", 0)) for lane in lanes for e in lane["events"]]
    start = min([0.0, *times])
    end = nice_ceiling(max([1.0, *times]) * 1.05)
    label_w, lane_h, top = 120, 30, 22
    plot_w = width - label_w - 10

    def x(t: float) -> float:
        return label_w + plot_w * (t - start) / (end - start)

    height = top + lane_h * len(lanes) + 8
    step = nice_ceiling(end / 5)
    parts = [
        f"<line x1='{x(t):.1f}' x2='{x(t):.1f}' y1='16' y2='{height}' stroke='#eaeef2'/>"
        f"<text x='{x(t):.1f}' y='12' font-size='10' fill='{MUTED}' text-anchor='middle'>{t / 1000:g} s</text>"
        for t in (step * i for i in range(1, int(end / step) + 1))
    ]
    parts += [
        f"<line x1='{x(0):.1f}' x2='{x(0):.1f}' y1='14' y2='{height}' stroke='{FAIL}' stroke-dasharray='4 3'/>",
        f"<text x='{x(0) + 4:.1f}' y='12' font-size='11' fill='{FAIL}'>cut</text>",
    ]
    for index, lane in enumerate(lanes):
        y = top + index * lane_h + lane_h / 2
        events = sorted(lane["events"], key=lambda e: float(e.get("t_ms", 0)))
        parts.append(
            f"<text x='0' y='{y + 4:.1f}' font-size='12' fill='{INK}'>"
            f"{escape(str(lane.get('client', '?'))[:18])}</text>"
            f"<line x1='{label_w}' x2='{width - 10}' y1='{y:.1f}' y2='{y:.1f}' stroke='#d0d7de'/>"
        )
        down = next((float(e.get("t_ms", 0)) for e in events if event_kind(str(e.get("what", ""))) == "down"), None)
        if down is not None:
            up = next(
                (
                    float(e.get("t_ms", 0))
                    for e in events
                    if float(e.get("t_ms", 0)) >= down and event_kind(str(e.get("what", ""))) == "up"
                ),
                end,
            )
            back = f"back after {(up - down) / 1000:.2f} s" if up < end else "never back"
            parts.append(
                f"<rect x='{x(down):.1f}' y='{y - 3:.1f}' width='{max(x(up) - x(down), 1):.1f}' height='6'"
                f" fill='{FAIL}' opacity='.35'><title>without a connection {ms(up - down)} ms</title></rect>"
                f"<text x='{min(x(up) + 8, width - 10):.1f}' y='{y - 7:.1f}' font-size='10.5'"
                f" fill='{PASS if up < end else FAIL}'>{back}</text>"
            )
        for event in events:
            t = float(event.get("t_ms", 0))
            what = str(event.get("what", ""))
            detail = str(event.get("detail", ""))
            tip = escape(f"{t:+.0f} ms {what}" + (f": {detail}" if detail else ""))
            parts.append(
                f"<circle cx='{x(t):.1f}' cy='{y:.1f}' r='5' fill='{KIND_COLOURS[event_kind(what)]}'"
                f" stroke='#fff'><title>{tip}</title></circle>"
            )
    return (
        f"<svg class='timeline' viewBox='0 0 {width} {height}' width='100%' role='img'"
        f" aria-label='reconnect timeline'>{''.join(parts)}</svg>"
    )


# Trend ---------------------------------------------------------------------------------------------


def verdict_strip(runs: Sequence[PastRun], cell: int = 22) -> str:
    """A square per run, oldest left; fault drills hatched, so they never pass for real verdicts."""
    width = max(len(runs) * (cell + 4), cell)
    parts = [
        "<defs><pattern id='drill' width='5' height='5' patternUnits='userSpaceOnUse' patternTransform='rotate(45)'>"
        "<rect width='5' height='5' fill='#fff'/><line x1='0' y1='0' x2='0' y2='5' stroke='#8c959f' stroke-width='3'/>"
        "</pattern></defs>"
    ]
    for index, run in enumerate(runs):
        colour = VERDICT_COLOURS.get(run.verdict, MUTED)
        x = index * (cell + 4) + 1
        last = index == len(runs) - 1
        fill = "url(#drill)" if run.drill else colour
        tip = f"{run.finished} {run.verdict}" + (f", build {run.label}" if run.label else "") + f", {run.profile}"
        if run.drill:
            tip += f", fault drill: {', '.join(run.faults)}"
        if run.failed:
            tip += f"; failed: {', '.join(run.failed)}"
        parts.append(
            f"<rect x='{x}' y='1' width='{cell}' height='{cell}' rx='3' fill='{fill}'"
            f" stroke='{INK if last else colour}' stroke-width='{2 if last else 1.5}'>"
            f"<title>{escape(tip)}</title></rect>"
        )
    return (
        f"<svg viewBox='0 0 {width + 2} {cell + 2}' width='{width + 2}' height='{cell + 2}' role='img'"
        f" aria-label='verdicts of the last {len(runs)} runs'>{''.join(parts)}</svg>"
    )


def p95_sparkline(runs: Sequence[PastRun], segment: str, budget: float | None, width: int = 260) -> str:
    """p95 of one segment per run: real runs joined by a line, fault drills as hollow grey rings."""
    height, pad = 54, 6
    points = [(i, run.p95_ms[segment], run.drill) for i, run in enumerate(runs) if segment in run.p95_ms]
    if not points:
        return ""
    top = nice_ceiling(max(v for _, v, _ in points) * 1.15)
    # A budget far above the values would flatten them into a line: it is drawn only when near.
    if budget and budget <= top * 1.5:
        top = nice_ceiling(max(top, budget * 1.05))
    span = max(len(runs) - 1, 1)

    def xy(i: int, v: float) -> tuple[float, float]:
        return pad + (width - 2 * pad) * i / span, height - pad - (height - 2 * pad) * v / top

    real = [xy(i, v) for i, v, drill in points if not drill]
    parts = [
        f"<rect x='0' y='0' width='{width}' height='{height}' fill='#f6f8fa'/>",
        f"<text x='{width - 3}' y='10' font-size='9' fill='{MUTED}' text-anchor='end'>{top:g} ms</text>",
        f"<text x='{width - 3}' y='{height - 2}' font-size='9' fill='{MUTED}' text-anchor='end'>0</text>",
    ]
    if budget and budget <= top:
        _, yb = xy(0, budget)
        parts.append(
            f"<line x1='0' x2='{width}' y1='{yb:.1f}' y2='{yb:.1f}' stroke='{FAIL}' stroke-dasharray='3 2'>"
            f"<title>budget {budget:g} ms</title></line>"
        )
    if len(real) > 1:
        parts.append(
            f"<polyline fill='none' stroke='{BAR}' stroke-width='1.5' points='"
            + " ".join(f"{px:.1f},{py:.1f}" for px, py in real)
            + "'/>"
        )
    for i, v, drill in points:
        px, py = xy(i, v)
        run = runs[i]
        tip = escape(f"{run.finished}: p95 {ms(v)} ms" + (" (fault drill)" if drill else ""))
        style = f"fill='#fff' stroke='{MUTED}'" if drill else f"fill='{BAR}'"
        parts.append(f"<circle cx='{px:.1f}' cy='{py:.1f}' r='3' {style}><title>{tip}</title></circle>")
    return (
        f"<svg viewBox='0 0 {width} {height}' width='{width}' height='{height}' role='img'"
        f" aria-label='p95 of {escape(segment)} over the last runs'>{''.join(parts)}</svg>"
    )
