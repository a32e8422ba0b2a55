"""Small charts as server-rendered SVG: line and grouped-bar charts over days, and horizontal bars for rankings.

No JavaScript and no chart library: the markup is built here, every piece of text escaped, and returned as
``Markup`` for templates to embed. Each chart has an accessible ``<title>``/``<desc>`` and a ``<title>`` per data
point (a browser shows it as a tooltip); the numbers are also in the tables the pages put beside the charts.

An SVG scales as a whole, text included: a 640-unit chart squeezed into a phone's 330 px would print 5 px text.
So pages embed ``responsive(...)``: the chart drawn twice, wide and narrow, and the stylesheet shows the one that
fits. Text is laid out from estimated glyph widths so no label runs past the chart's edge (the browser tests
measure it).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

PALETTE = ("#ff4800", "#165dff", "#00b42a", "#f53f3f", "#722ed1", "#86909c")
WIDE, NARROW = 640, 360  # viewBox widths: a desktop column, and a phone (390 px less the page's margins)
MONO_EM = 0.6  # a monospace glyph's advance, in em (Liberation Mono, DejaVu Sans Mono, Menlo: 0.6)
SANS_EM = 0.58  # a generous average for sans-serif text (digits and lower case are narrower)
_ids = itertools.count(1)


def text_width(text: str, size: float, em: float = SANS_EM) -> float:
    """Estimated width of ``text`` at font ``size``: an SVG has no text measuring before the browser draws it."""
    return len(text) * size * em


def fit(text: str, width: float, size: float, em: float = MONO_EM) -> str:
    """``text`` cut in the middle with an ellipsis to fit ``width`` (both ends of an API path tell it apart)."""
    room = int(width / (size * em))
    if len(text) <= room:
        return text
    head = (room - 1) // 2
    return text[:head] + "…" + text[len(text) - (room - 1 - head):]


def responsive(draw: Callable[[int], Markup]) -> Markup:
    """The chart drawn at the wide and at the narrow width; CSS (``.chart-wide`` / ``.chart-narrow``) shows one."""
    return Markup(f'<div class="chart-wide">{draw(WIDE)}</div><div class="chart-narrow">{draw(NARROW)}</div>')


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
    fits = max(2, int(frame.plot_w // 46))  # a label ("11-25") is about 30 units wide at 11: keep a gap
    every = max(1, math.ceil(len(labels) / min(10, fits)))  # at most about ten labels, whatever the period
    base = frame.top + frame.plot_h
    parts.append(f'<line x1="{frame.left}" x2="{frame.width - frame.right}" y1="{base}" y2="{base}" '
                 f'stroke="#c9cdd4" stroke-width="1"/>')
    for i, (label, x) in enumerate(zip(labels, centers, strict=True)):
        if i % every == 0 or (i == len(labels) - 1 and i % every >= every / 2):
            parts.append(f'<text x="{x:.1f}" y="{base + 16}" text-anchor="middle" font-size="11" '
                         f'fill="#4e5969">{escape(label)}</text>')


def _legend_rows(width: int, left: int, series: Sequence[Series]) -> list[list[tuple[float, Series]]]:
    """The legend's entries placed left to right, a new row when the next would pass the right edge."""
    rows: list[list[tuple[float, Series]]] = [[]]
    x = float(left)
    for s in series:
        advance = 14 + text_width(s.name, 12) + 12
        if rows[-1] and x + advance - 12 > width - 4:
            rows.append([])
            x = float(left)
        rows[-1].append((x, s))
        x += advance
    return rows


def _legend(parts: list[str], frame: _Frame, rows: list[list[tuple[float, Series]]]) -> None:
    for r, row in enumerate(rows):
        y = frame.height - 10 - 18 * (len(rows) - 1 - r)
        for x, s in row:
            parts.append(f'<rect x="{x:.1f}" y="{y - 9}" width="10" height="10" rx="2" fill="{escape(s.color)}"/>')
            parts.append(f'<text x="{x + 14:.1f}" y="{y}" font-size="12" fill="#1f2329">{escape(s.name)}</text>')


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
    legend = _legend_rows(width, 48, series)
    extra = 18 * (len(legend) - 1)
    # right: room for the last day's label, centred on the last point
    frame = _Frame(width, height + extra, right=28, bottom=44 + extra)
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
    _legend(parts, frame, legend)
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_chart(labels: Sequence[str], series: Sequence[Series], *, title: str, width: int = 640,
              height: int = 240) -> Markup:
    """Grouped bars: one group per label (day), one bar per series, a tooltip per bar."""
    series = _colored(series)
    legend = _legend_rows(width, 48, series)
    extra = 18 * (len(legend) - 1)
    frame = _Frame(width, height + extra, bottom=44 + extra)
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
    _legend(parts, frame, legend)
    parts.append("</svg>")
    return Markup("".join(parts))


def hbar_chart(items: Sequence[tuple[str, float]], *, title: str, width: int = WIDE, color: str = PALETTE[1],
               ) -> Markup:
    """Horizontal bars, one row per item (e.g. calls per API): the label on its own line above its bar, at the
    chart's full width (a label column beside the bars left long API paths cut off on the left), the value
    written at the bar's end. A label longer than the width is shortened in the middle; its tooltip is whole."""
    size, row_h, pad = 11, 36, 2
    height = 8 + row_h * max(len(items), 1)
    parts, _ = _open(_Frame(width, height), title,
                     "; ".join(f"{label}: {_fmt(v)}" for label, v in items) or "no data", "chart chart-hbar")
    top = max((v for _, v in items), default=0) or 1
    value_room = max((text_width(_fmt(v), size) for _, v in items), default=0) + 8
    avail = width - 2 * pad - value_room
    for i, (label, value) in enumerate(items):
        y = 4 + i * row_h
        w = max(0.0, value / top * avail)
        tip = escape(f"{label}: {_fmt(value)}")
        parts.append(f'<text x="{pad}" y="{y + 12}" font-size="{size}" fill="#4e5969" font-family="monospace">'
                     f'<title>{tip}</title>{escape(fit(label, width - 2 * pad, size))}</text>')
        parts.append(f'<rect x="{pad}" y="{y + 17}" width="{w:.1f}" height="12" rx="2" '
                     f'fill="{escape(color)}"><title>{tip}</title></rect>')
        parts.append(f'<text x="{pad + w + 6:.1f}" y="{y + 27}" font-size="{size}" fill="#1f2329">'
                     f'{escape(_fmt(value))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
