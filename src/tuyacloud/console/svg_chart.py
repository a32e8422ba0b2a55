"""Small charts as server-rendered SVG: line and grouped-bar charts over days, and horizontal bars for rankings.

No JavaScript and no chart library: the markup is built here, every piece of text escaped, and returned as
``Markup`` for templates to embed. Each chart has an accessible ``<title>``/``<desc>`` and a ``<title>`` per data
point (a browser shows it as a tooltip); the numbers are also in the tables the pages put beside the charts.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

PALETTE = ("#ff4800", "#165dff", "#00b42a", "#f53f3f", "#722ed1", "#86909c")
_ids = itertools.count(1)


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]
    color: str = ""


def nice_ticks(top: float, count: int = 4) -> list[float]:
    """0 and a few round steps (1, 2, 5 × 10^k, never below 1: the charts count things) covering ``top``."""
    if top <= 1:
        return [0.0, 1.0]
    raw = top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = max(1.0, next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw))
    ticks = [0.0]
    while ticks[-1] < top:
        ticks.append(ticks[-1] + step)
    return ticks


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


@dataclass(frozen=True)
class _Frame:
    width: int
    height: int
    left: int = 48
    right: int = 12
    top: int = 28
    bottom: int = 44

    @property
    def plot_w(self) -> float:
        return self.width - self.left - self.right

    @property
    def plot_h(self) -> float:
        return self.height - self.top - self.bottom


def _open(frame: _Frame, title: str, desc: str, css_class: str) -> tuple[list[str], str]:
    uid = f"chart{next(_ids)}"
    parts = [
        f'<svg class="{css_class}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {frame.width} {frame.height}" '
        f'role="img" aria-labelledby="{uid}-t {uid}-d" preserveAspectRatio="xMidYMid meet">',
        f'<title id="{uid}-t">{escape(title)}</title>',
        f'<desc id="{uid}-d">{escape(desc)}</desc>',
    ]
    return parts, uid


def _y_axis(parts: list[str], frame: _Frame, ticks: list[float]) -> None:
    top = ticks[-1]
    for tick in ticks:
        y = frame.top + frame.plot_h - (tick / top) * frame.plot_h
        parts.append(f'<line x1="{frame.left}" x2="{frame.width - frame.right}" y1="{y:.1f}" y2="{y:.1f}" '
                     f'stroke="#e5e6eb" stroke-width="1"/>')
        parts.append(f'<text x="{frame.left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
                     f'fill="#86909c">{escape(_fmt(tick))}</text>')


def _x_labels(parts: list[str], frame: _Frame, labels: Sequence[str], centers: Sequence[float]) -> None:
    every = max(1, math.ceil(len(labels) / 10))  # at most about ten labels, whatever the period
    base = frame.top + frame.plot_h
    parts.append(f'<line x1="{frame.left}" x2="{frame.width - frame.right}" y1="{base}" y2="{base}" '
                 f'stroke="#c9cdd4" stroke-width="1"/>')
    for i, (label, x) in enumerate(zip(labels, centers, strict=True)):
        if i % every == 0 or (i == len(labels) - 1 and i % every >= every / 2):
            parts.append(f'<text x="{x:.1f}" y="{base + 16}" text-anchor="middle" font-size="11" '
                         f'fill="#4e5969">{escape(label)}</text>')


def _legend(parts: list[str], frame: _Frame, series: Sequence[Series]) -> None:
    x = float(frame.left)
    y = frame.height - 10
    for s in series:
        parts.append(f'<rect x="{x:.1f}" y="{y - 9}" width="10" height="10" rx="2" fill="{escape(s.color)}"/>')
        parts.append(f'<text x="{x + 14:.1f}" y="{y}" font-size="12" fill="#1f2329">{escape(s.name)}</text>')
        x += 26 + 7 * len(s.name)


def _colored(series: Sequence[Series]) -> list[Series]:
    return [s if s.color else Series(s.name, s.values, PALETTE[i % len(PALETTE)]) for i, s in enumerate(series)]


def _describe(labels: Sequence[str], series: Sequence[Series]) -> str:
    if not labels:
        return "no data"
    totals = ", ".join(f"{s.name}: {_fmt(sum(s.values))} in total" for s in series)
    return f"{len(labels)} days from {labels[0]} to {labels[-1]}; {totals}"


def line_chart(labels: Sequence[str], series: Sequence[Series], *, title: str, width: int = 640,
               height: int = 240) -> Markup:
    """One line per series over ``labels`` (days), a dot and a tooltip per point."""
    series = _colored(series)
    frame = _Frame(width, height, right=28)  # room for the last day's label, centred on the last point
    parts, _ = _open(frame, title, _describe(labels, series), "chart chart-line")
    ticks = nice_ticks(max((v for s in series for v in s.values), default=0))
    _y_axis(parts, frame, ticks)
    n = len(labels)
    step = frame.plot_w / max(n - 1, 1)
    xs = [frame.left + (i * step if n > 1 else frame.plot_w / 2) for i in range(n)]
    _x_labels(parts, frame, labels, xs)
    for s in series:
        points = [(x, frame.top + frame.plot_h - (v / ticks[-1]) * frame.plot_h) for x, v in zip(xs, s.values,
                                                                                                  strict=True)]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            parts.append(f'<polyline points="{path}" fill="none" stroke="{escape(s.color)}" stroke-width="2" '
                         f'stroke-linejoin="round"/>')
        for (x, y), label, value in zip(points, labels, s.values, strict=True):
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{escape(s.color)}">'
                         f'<title>{escape(f"{s.name}, {label}: {_fmt(value)}")}</title></circle>')
    _legend(parts, frame, series)
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_chart(labels: Sequence[str], series: Sequence[Series], *, title: str, width: int = 640,
              height: int = 240) -> Markup:
    """Grouped bars: one group per label (day), one bar per series, a tooltip per bar."""
    series = _colored(series)
    frame = _Frame(width, height)
    parts, _ = _open(frame, title, _describe(labels, series), "chart chart-bar")
    ticks = nice_ticks(max((v for s in series for v in s.values), default=0))
    _y_axis(parts, frame, ticks)
    n = max(len(labels), 1)
    group_w = frame.plot_w / n
    bar_w = max(1.0, group_w * 0.8 / max(len(series), 1))
    centers = [frame.left + group_w * (i + 0.5) for i in range(len(labels))]
    _x_labels(parts, frame, labels, centers)
    for k, s in enumerate(series):
        for i, (label, value) in enumerate(zip(labels, s.values, strict=True)):
            h = (value / ticks[-1]) * frame.plot_h
            x = frame.left + group_w * i + group_w * 0.1 + k * bar_w
            y = frame.top + frame.plot_h - h
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                         f'fill="{escape(s.color)}"><title>{escape(f"{s.name}, {label}: {_fmt(value)}")}</title>'
                         f'</rect>')
    _legend(parts, frame, series)
    parts.append("</svg>")
    return Markup("".join(parts))


def hbar_chart(items: Sequence[tuple[str, float]], *, title: str, width: int = 640, color: str = PALETTE[1],
               ) -> Markup:
    """Horizontal bars, one row per item (e.g. calls per API), the value written at the bar's end."""
    row_h = 22
    label_w = min(300, 12 + 6.6 * max((len(label) for label, _ in items), default=4))
    height = 20 + row_h * max(len(items), 1)
    uid_parts, _ = _open(_Frame(width, height), title,
                         "; ".join(f"{label}: {_fmt(v)}" for label, v in items) or "no data", "chart chart-hbar")
    parts = uid_parts
    top = max((v for _, v in items), default=0) or 1
    avail = width - label_w - 60
    for i, (label, value) in enumerate(items):
        y = 10 + i * row_h
        w = max(0.0, value / top * avail)
        parts.append(f'<text x="{label_w - 8:.1f}" y="{y + 14}" text-anchor="end" font-size="11" fill="#4e5969" '
                     f'font-family="monospace">{escape(label)}</text>')
        parts.append(f'<rect x="{label_w:.1f}" y="{y + 3}" width="{w:.1f}" height="{row_h - 8}" rx="2" '
                     f'fill="{escape(color)}"><title>{escape(f"{label}: {_fmt(value)}")}</title></rect>')
        parts.append(f'<text x="{label_w + w + 6:.1f}" y="{y + 14}" font-size="11" fill="#1f2329">'
                     f'{escape(_fmt(value))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
