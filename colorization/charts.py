"""Small server-side SVG charts for the model registry (loss curves, before/after metrics). No JavaScript.

Every chart has a <title> and a text description, so it reads without sight too.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from django.utils.safestring import SafeString, mark_safe


def _ticks(low: float, high: float, n: int = 4) -> list[float]:
    if high <= low:
        return [low]
    raw = (high - low) / n
    mag = 10 ** math.floor(math.log10(raw))
    step = min((m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw), default=raw)
    start = math.ceil(low / step) * step
    return [round(start + i * step, 10) for i in range(int((high - start) / step) + 1)]


def line_chart(
    points: Sequence[tuple[float, float]],
    *,
    title: str,
    x_label: str,
    y_label: str,
    width: int = 560,
    height: int = 220,
) -> SafeString:
    """A polyline of (x, y) points with axes and ticks."""
    pts = [(float(x), float(y)) for x, y in points if y is not None and math.isfinite(float(y))]
    if not pts:
        return mark_safe(f'<p class="chart-empty">{escape(title)}: no data yet.</p>')
    left, right, top, bottom = 56, 12, 24, 36
    xs, ys = [p[0] for p in pts], [p[1] for p in pts]
    x0, x1 = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1
    pad = (max(ys) - min(ys)) * 0.08 or abs(ys[0]) * 0.05 or 1
    y0, y1 = min(ys) - pad, max(ys) + pad

    def sx(x):
        return left + (x - x0) / (x1 - x0) * (width - left - right)

    def sy(y):
        return top + (1 - (y - y0) / (y1 - y0)) * (height - top - bottom)

    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
        f"<desc>{escape(y_label)} from {ys[0]:.4g} to {ys[-1]:.4g} over {escape(x_label)} {x0:.4g}–{x1:.4g}</desc>",
        f'<text x="{left}" y="14" class="chart-title">{escape(title)}</text>',
    ]
    for t in _ticks(y0, y1):
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{sy(t):.1f}" y2="{sy(t):.1f}" class="chart-grid"/>'
            f'<text x="{left - 6}" y="{sy(t) + 4:.1f}" text-anchor="end" class="chart-tick">{t:.4g}</text>'
        )
    for t in _ticks(x0, x1, 5):
        parts.append(
            f'<text x="{sx(t):.1f}" y="{height - bottom + 16}" text-anchor="middle" class="chart-tick">{t:.4g}</text>'
        )
    path = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for x, y in pts)
    parts.append(f'<polyline points="{path}" class="chart-line" fill="none"/>')
    parts.append(
        f'<text x="{(left + width - right) / 2}" y="{height - 4}" text-anchor="middle" class="chart-label">'
        f"{escape(x_label)}</text>"
        f'<text x="12" y="{(top + height - bottom) / 2}" text-anchor="middle" class="chart-label" '
        f'transform="rotate(-90 12 {(top + height - bottom) / 2})">{escape(y_label)}</text></svg>'
    )
    return mark_safe("".join(parts))


def paired_bars(
    groups: Sequence[tuple[str, float, float]],
    *,
    title: str,
    series: tuple[str, str] = ("parent", "candidate"),
    unit: str = "dB",
    width: int = 560,
    height: int = 220,
) -> SafeString:
    """Before/after bars: one (label, before, after) group per metric, both bars labelled with values."""
    groups = [(g, float(a), float(b)) for g, a, b in groups if math.isfinite(float(a)) and math.isfinite(float(b))]
    if not groups:
        return mark_safe(f'<p class="chart-empty">{escape(title)}: no data yet.</p>')
    left, right, top, bottom = 16, 12, 40, 34
    values = [v for _, a, b in groups for v in (a, b)]
    low = min(values) - (max(values) - min(values)) * 0.5 - 0.5  # bars start above zero so differences show
    low = max(0.0, math.floor(low))
    high = max(values) + (max(values) - low) * 0.08
    band = (width - left - right) / len(groups)
    bar = band * 0.32

    def sy(v):
        return top + (1 - (v - low) / (high - low)) * (height - top - bottom)

    parts = [
        f'<svg class="chart" role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title><desc>'
        + "; ".join(f"{escape(g)}: {series[0]} {a:.2f}, {series[1]} {b:.2f} {unit}" for g, a, b in groups)
        + "</desc>",
        f'<text x="{left}" y="14" class="chart-title">{escape(title)} (axis from {low:g} {escape(unit)})</text>',
        f'<rect x="{left}" y="22" width="10" height="10" class="chart-bar-a"/>'
        f'<text x="{left + 14}" y="31" class="chart-tick">{escape(series[0])}</text>'
        f'<rect x="{left + 90}" y="22" width="10" height="10" class="chart-bar-b"/>'
        f'<text x="{left + 104}" y="31" class="chart-tick">{escape(series[1])}</text>',
    ]
    base_y = sy(low)
    for i, (label, a, b) in enumerate(groups):
        cx = left + band * (i + 0.5)
        for j, (v, cls) in enumerate(((a, "chart-bar-a"), (b, "chart-bar-b"))):
            x = cx - bar - 2 + j * (bar + 4)
            parts.append(
                f'<rect x="{x:.1f}" y="{sy(v):.1f}" width="{bar:.1f}" height="{base_y - sy(v):.1f}" class="{cls}"/>'
                f'<text x="{x + bar / 2:.1f}" y="{sy(v) - 3:.1f}" text-anchor="middle" '
                f'class="chart-tick">{v:.2f}</text>'
            )
        parts.append(
            f'<text x="{cx:.1f}" y="{height - bottom + 16}" text-anchor="middle" '
            f'class="chart-label">{escape(label)}</text>'
        )
    parts.append("</svg>")
    return mark_safe("".join(parts))
