"""report.html: one self-contained page a person can read, and sign."""

from __future__ import annotations

from html import escape
from typing import Any

from realtime_verify.outcome import CheckResult
from realtime_verify.reporting.format import details as format_details
from realtime_verify.reporting.format import label
from realtime_verify.reporting.summary import RunReport

STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1100px;color:#222}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem}
table{border-collapse:collapse;width:100%}
td,th{border-bottom:1px solid #ddd;padding:.35rem .5rem;text-align:left;vertical-align:top}
.passed{color:#176b1c}.failed{color:#a40000;font-weight:600}.skipped{color:#777}.warning{color:#9a6700}
.verdict{font-size:1.2rem;padding:.4rem .8rem;border-radius:.3rem;display:inline-block}
.v-PASSED{background:#d7f5d9}.v-FAILED,.v-UNREACHABLE,.v-ERROR{background:#f8d0d0}.v-NOTHING{background:#eee}
.fix{color:#555}.muted{color:#777}code{background:#f4f4f4;padding:0 .2rem}
.sign td{height:2.5rem}
"""


def render_html(report: RunReport) -> str:
    verdict_class = "v-" + report.verdict.split()[0]
    rows = "\n".join(_check_row(check) for check in report.checks)
    latency = [s for check in report.checks for s in check.latency if s.get("n")]
    versions = ", ".join(f"{escape(k)} {escape(v)}" for k, v in report.versions.items())
    settings = "".join(f"<li><code>{escape(line)}</code></li>" for line in report.settings) or "<li>defaults</li>"
    faults = f"<p>Faults switched on: <code>{escape(', '.join(report.faults))}</code></p>" if report.faults else ""
    counts = report.counts
    title = f"realtime-verify {escape(report.verdict)}: {escape(report.target)}"
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>{STYLE}</style></head><body>
<h1>realtime-verify: {escape(report.target)}</h1>
<p><span class="verdict {verdict_class}">{escape(report.verdict)}</span>
 &nbsp;profile <b>{escape(report.run_profile)}</b>, run <code>{escape(report.run_id)}</code>,
 {escape(report.started)} → {escape(report.finished)} ({report.duration_s:g} s);
 {counts.get("passed", 0)} passed, {counts.get("warning", 0)} with warnings, {counts.get("failed", 0)} failed,
 {counts.get("skipped", 0)} skipped</p>
{faults}
{_error(report)}
<h2>Checks</h2>
<table><tr><th>ID</th><th>Check</th><th>Status</th><th>Time</th><th>Details</th></tr>
{rows}
</table>
<h2>Latency</h2>
{_latency_table(latency)}
{_latency_plot(latency)}
<h2>Run</h2>
<p class="muted">{versions}</p>
<ul>{settings}</ul>
<h2>Sign-off</h2>
<table class="sign"><tr><th>Name</th><th>Role</th><th>Date</th><th>Signature</th></tr>
<tr><td></td><td></td><td></td><td></td></tr></table>
</body></html>
"""


def _error(report: RunReport) -> str:
    if not report.error:
        return ""
    return f"<p class='failed'>The run ended before its checks: {escape(report.error)}</p>"


def _check_row(check: CheckResult) -> str:
    details = "".join(f"<div>{escape(line)}</div>" for line in format_details(check))
    if check.metrics:
        # What the check saw (socket URL, ping timers, cf-ray...), so a passed row says why it passed.
        shown = "; ".join(f"{k}: {v}" for k, v in check.metrics.items())
        details += f"<div class='muted'>{escape(shown[:400])}</div>"
    status = check.status.value
    return (
        f"<tr><td><code>{escape(check.check_id)}</code></td><td>{escape(check.title)}</td>"
        f"<td class='{escape(status.replace(' ', '-'))}'>{escape(label(check))}</td>"
        f"<td style='white-space:nowrap'>{check.duration_s:.2f}&nbsp;s</td><td>{details}</td></tr>"
    )


def _latency_table(series: list[dict[str, Any]]) -> str:
    if not series:
        return "<p class='muted'>No latency was measured in this run.</p>"
    rows = "".join(
        f"<tr><td>{escape(s['segment'])}</td><td>{s['n']}</td><td>{s['p50_ms']:.2f}</td>"
        f"<td>{s['p95_ms']:.2f}</td><td>{s['max_ms']:.2f}</td></tr>"
        for s in series
    )
    return f"<table><tr><th>Segment</th><th>n</th><th>p50 ms</th><th>p95 ms</th><th>max ms</th></tr>{rows}</table>"


def _latency_plot(series: list[dict[str, Any]]) -> str:
    """Horizontal bars: p50 (dark) and p95 (light) per segment, max as a tick."""
    if not series:
        return ""
    scale_max = max(s["max_ms"] for s in series) or 1.0
    label_w, bar_w, row_h = 260, 560, 26
    height = row_h * len(series) + 30
    parts = []
    for i, s in enumerate(series):
        y = 10 + i * row_h
        p50 = bar_w * s["p50_ms"] / scale_max
        p95 = bar_w * s["p95_ms"] / scale_max
        mx = bar_w * s["max_ms"] / scale_max
        parts.append(
            f"<text x='0' y='{y + 14}' font-size='12'>{escape(s['segment'])}</text>"
            f"<rect x='{label_w}' y='{y}' width='{p95:.1f}' height='16' fill='#b9d3f0'/>"
            f"<rect x='{label_w}' y='{y}' width='{p50:.1f}' height='16' fill='#2f6db5'/>"
            f"<line x1='{label_w + mx:.1f}' x2='{label_w + mx:.1f}' y1='{y - 2}' y2='{y + 18}' stroke='#a40000'/>"
        )
    axis_y = height - 8
    parts.append(
        f"<text x='{label_w}' y='{axis_y}' font-size='11' fill='#777'>0</text>"
        f"<text x='{label_w + bar_w - 60}' y='{axis_y}' font-size='11' fill='#777'>{scale_max:.1f} ms</text>"
    )
    return (
        f"<svg width='{label_w + bar_w + 20}' height='{height}' role='img' aria-label='latency p50, p95 and max'>"
        + "".join(parts)
        + "</svg><p class='muted'>Dark: p50, light: p95, red tick: max.</p>"
    )
