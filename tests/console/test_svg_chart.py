"""Server-rendered SVG charts: well-formed, accessible (title, desc, a tooltip per point), text escaped."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from hypothesis import given, settings
from hypothesis import strategies as st

from tuyacloud.console.svg_chart import Series, bar_chart, hbar_chart, line_chart, nice_ticks

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
