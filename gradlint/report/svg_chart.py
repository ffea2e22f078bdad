"""A log-scale line chart as inline SVG, written by hand so the HTML report needs no plotting
library: one series of values over layer depth, with flagged layers drawn in red.

Values that a log axis cannot show still appear: an exact zero (a dead layer) sits on the
bottom edge as a cross, an infinity on the top edge; NaN and "not measured" leave a gap.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from html import escape
from typing import Sequence

WIDTH, HEIGHT = 560, 280
LEFT, RIGHT, TOP, BOTTOM = 64, 16, 34, 46


@dataclass(frozen=True)
class Point:
    label: str  # the layer name, shown on hover
    value: float | None
    flagged: bool = False


@dataclass(frozen=True)
class Chart:
    title: str
    y_label: str
    points: tuple[Point, ...]
    reference: float | None = None  # a dashed horizontal line (1.0: an isometric layer)


def decade_range(values: Sequence[float]) -> tuple[int, int]:
    """Powers of ten bracketing the positive finite values (at least one decade apart)."""
    logs = [math.log10(v) for v in values if v > 0 and math.isfinite(v)]
    if not logs:
        return (-1, 1)
    low, high = math.floor(min(logs)), math.ceil(max(logs))
    return (low, high) if high > low else (low - 1, high + 1)


class _Frame:
    """Maps layer index and value to SVG coordinates."""

    def __init__(self, count: int, decades: tuple[int, int]) -> None:
        self.count, self.low, self.high = count, decades[0], decades[1]
        self.plot_w, self.plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def x(self, index: int) -> float:
        return LEFT + (self.plot_w * index / (self.count - 1) if self.count > 1 else self.plot_w / 2)

    def y(self, value: float) -> float:
        if value <= 0:
            return float(TOP + self.plot_h)
        if not math.isfinite(value):
            return float(TOP)
        fraction = (math.log10(value) - self.low) / (self.high - self.low)
        return TOP + self.plot_h * (1 - min(max(fraction, 0.0), 1.0))


def render_chart(chart: Chart) -> str:
    values = [p.value for p in chart.points if p.value is not None and not math.isnan(p.value)]
    extra = [chart.reference] if chart.reference is not None else []
    frame = _Frame(max(len(chart.points), 1), decade_range([*values, *extra]))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'width="{WIDTH}" height="{HEIGHT}" role="img" aria-label="{escape(chart.title)}" class="chart">',
        f'<text x="{LEFT}" y="20" class="chart-title">{escape(chart.title)}</text>',
        *_axes(frame, chart),
    ]
    if chart.reference is not None:
        y = frame.y(chart.reference)
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="reference"/>')
    parts += _lines(frame, chart.points) + _markers(frame, chart.points)
    if not values:
        parts.append(f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" class="empty">not measured</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def _axes(frame: _Frame, chart: Chart) -> list[str]:
    bottom = TOP + frame.plot_h
    parts = [f'<rect x="{LEFT}" y="{TOP}" width="{frame.plot_w}" height="{frame.plot_h}" class="frame"/>']
    label_every = max(1, math.ceil((frame.high - frame.low) / 8))
    for exponent in range(frame.low, frame.high + 1):
        y = frame.y(10.0**exponent)
        parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        if (exponent - frame.low) % label_every == 0:
            parts.append(f'<text x="{LEFT - 6}" y="{y + 4:.1f}" class="tick" text-anchor="end">1e{exponent}</text>')
    step = max(1, math.ceil(frame.count / 12))
    for index in range(0, frame.count, step):
        x = frame.x(index)
        parts.append(f'<text x="{x:.1f}" y="{bottom + 16}" class="tick" text-anchor="middle">{index}</text>')
    parts.append(
        f'<text x="{LEFT + frame.plot_w / 2}" y="{HEIGHT - 8}" class="axis-label" '
        f'text-anchor="middle">layer (depth order)</text>'
    )
    parts.append(
        f'<text transform="translate(14 {TOP + frame.plot_h / 2}) rotate(-90)" class="axis-label" '
        f'text-anchor="middle">{escape(chart.y_label)}</text>'
    )
    return parts


def _lines(frame: _Frame, points: Sequence[Point]) -> list[str]:
    """One polyline per run of measured points: a gap where a value is missing."""
    runs: list[list[str]] = [[]]
    for index, point in enumerate(points):
        if point.value is None or math.isnan(point.value):
            runs.append([])
        else:
            runs[-1].append(f"{frame.x(index):.1f},{frame.y(point.value):.1f}")
    return [f'<polyline points="{" ".join(run)}" class="series"/>' for run in runs if len(run) > 1]


def _markers(frame: _Frame, points: Sequence[Point]) -> list[str]:
    parts = []
    for index, point in enumerate(points):
        if point.value is None or math.isnan(point.value):
            continue
        x, y = frame.x(index), frame.y(point.value)
        css = "marker flagged" if point.flagged else "marker"
        tip = f"<title>{escape(point.label)}: {point.value:.3g}</title>"
        if point.value <= 0 or not math.isfinite(point.value):
            parts.append(f'<path d="M{x - 4:.1f},{y - 4:.1f}l8,8m0,-8l-8,8" class="{css} off-scale">{tip}</path>')
        else:
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" class="{css}">{tip}</circle>')
    return parts
