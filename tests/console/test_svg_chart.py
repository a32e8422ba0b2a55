"""Server-rendered SVG charts: well-formed, accessible (title, desc, a tooltip per point), text escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from hypothesis import given, settings
from hypothesis import strategies as st

from tuyacloud.console.svg_chart import (
    MONO_EM,
    NARROW,
    WIDE,
    Series,
    bar_chart,
    fit,
    hbar_chart,
    line_chart,
    nice_ticks,
    responsive,
    text_width,
)

NS = "{http://www.w3.org/2000/svg}"


def test_line_chart_has_title_points_and_escapes() -> None:
    svg = str(line_chart(["01-01", "01-02", "<b>"], [Series("Sent & <acked>", [1, 5, 2])], title="Msgs <per> day"))
    root = ET.fromstring(svg)  # well-formed XML: every text was escaped
    assert root.get("role") == "img"
    assert root.find(f"{NS}title").text == "Msgs <per> day"
    tips = [c.find(f"{NS}title").text for c in root.iter(f"{NS}circle")]
    assert tips == ["Sent & <acked>, 01-01: 1", "Sent & <acked>, 01-02: 5", "Sent & <acked>, <b>: 2"]
    assert "<b>" not in svg


def test_bar_chart_bar_heights_follow_values() -> None:
    svg = str(bar_chart(["a", "b"], [Series("Calls", [10, 5]), Series("Failures", [0, 5])], title="Calls"))
    rects = [r for r in ET.fromstring(svg).iter(f"{NS}rect") if r.find(f"{NS}title") is not None]
    heights = {r.find(f"{NS}title").text: float(r.get("height")) for r in rects}
    assert heights["Calls, a: 10"] == 2 * heights["Calls, b: 5"] == 2 * heights["Failures, b: 5"]
    assert heights["Failures, a: 0"] == 0


def test_hbar_and_empty_charts() -> None:
    ET.fromstring(str(hbar_chart([("GET /v1.0/devices/{device_id}", 3)], title="APIs")))
    ET.fromstring(str(hbar_chart([], title="APIs")))
    ET.fromstring(str(line_chart([], [Series("x", [])], title="none")))
    ET.fromstring(str(bar_chart(["a"], [Series("x", [0])], title="zeros")))


@settings(max_examples=100, deadline=None)
@given(st.floats(min_value=0, max_value=1e9, allow_nan=False))
def test_nice_ticks_cover_the_maximum(top: float) -> None:
    ticks = nice_ticks(top)
    assert ticks[0] == 0 and ticks[-1] >= top and len(ticks) <= 12
    assert all(b > a for a, b in zip(ticks, ticks[1:], strict=False))


def _texts(svg: str) -> list[ET.Element]:
    return list(ET.fromstring(svg).iter(f"{NS}text"))


def test_hbar_labels_stay_inside_the_chart_however_long() -> None:
    """Labels sit above their bars from x=2; one too long for the width is cut in the middle, whole in its
    tooltip (the label column of old let long API paths run off the left edge)."""
    long_api = "POST /v2.0/cloud/thing/{device_id}/shadow/properties/issue"
    for width in (WIDE, NARROW):
        svg = str(hbar_chart([(long_api, 12_345), ("GET /v1.0/token", 1)], title="APIs", width=width))
        labels = [t for t in _texts(svg) if t.get("font-family") == "monospace"]
        for label in labels:
            shown = "".join(label.itertext()).replace(label.find(f"{NS}title").text, "")
            assert float(label.get("x")) >= 0
            assert float(label.get("x")) + text_width(shown, 11, MONO_EM) <= width
        assert labels[0].find(f"{NS}title").text == f"{long_api}: 12,345"
        values = [t for t in _texts(svg) if t.get("font-family") is None]
        assert [t.text for t in values] == ["12,345", "1"]
        assert all(float(t.get("x")) + text_width(t.text or "", 11) <= width for t in values)
    assert fit(long_api, NARROW - 4, 11) == "POST /v2.0/cloud/thing/{de…d}/shadow/properties/issue"
    assert fit("GET /v1.0/token", 100, 11) == "GET /v1.0/token"


def test_legend_wraps_to_rows_on_a_narrow_chart() -> None:
    series = [Series(f"Acknowledged (subscriber-{i})", [1, 2]) for i in range(3)]
    narrow = ET.fromstring(str(line_chart(["a", "b"], series, title="t", width=NARROW)))
    wide = ET.fromstring(str(line_chart(["a", "b"], series, title="t", width=WIDE, height=240)))
    legend = [t for t in narrow.iter(f"{NS}text") if t.get("font-size") == "12"]
    assert len({t.get("y") for t in legend}) == 3  # three rows
    assert all(float(t.get("x")) + text_width(t.text or "", 12) <= NARROW for t in legend)
    assert float(narrow.get("viewBox").split()[3]) == 240 + 2 * 18  # the chart grew to hold them
    assert float(wide.get("viewBox").split()[3]) == 240 + 18  # two rows at the wide width


def test_responsive_draws_wide_and_narrow() -> None:
    html = str(responsive(lambda w: bar_chart(["a"], [Series("x", [1])], title="t", width=w)))
    assert html.startswith('<div class="chart-wide"><svg') and '<div class="chart-narrow"><svg' in html
    assert f'viewBox="0 0 {WIDE} ' in html and f'viewBox="0 0 {NARROW} ' in html
