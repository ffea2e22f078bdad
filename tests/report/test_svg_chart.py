from __future__ import annotations

import math
import xml.etree.ElementTree as ElementTree

from gradlint.report.svg_chart import Chart, Point, decade_range, render_chart

SVG = "{http://www.w3.org/2000/svg}"


def _render(values: list[float | None], reference: float | None = None) -> ElementTree.Element:
    points = tuple(Point(f"l{i}", value) for i, value in enumerate(values))
    return ElementTree.fromstring(render_chart(Chart("t", "y", points, reference)))


def test_decades_bracket_positive_finite_values() -> None:
    assert decade_range([3e-7, 0.5, 0.0, math.inf]) == (-7, 0)
    assert decade_range([1.0]) == (-1, 1)  # a flat profile still gets a decade either side
    assert decade_range([]) == (-1, 1)


def test_missing_values_break_the_line() -> None:
    svg = _render([1.0, 0.1, None, 0.01, 0.001, math.nan, 1e-4])
    runs = [line.get("points", "").split() for line in svg.findall(f"{SVG}polyline")]
    assert [len(run) for run in runs] == [2, 2]  # the lone 1e-4 after the NaN has no line
    assert len(svg.findall(f"{SVG}circle")) == 5


def test_values_a_log_axis_cannot_show_sit_on_the_edges() -> None:
    svg = _render([0.0, 1.0, math.inf])
    crosses = svg.findall(f"{SVG}path")
    assert [c.findtext(f"{SVG}title") for c in crosses] == ["l0: 0", "l2: inf"]
    frame = svg.find(f"{SVG}rect")
    assert frame is not None
    top, bottom = float(frame.get("y", 0)), float(frame.get("y", 0)) + float(frame.get("height", 0))
    assert crosses[0].get("d", "").startswith("M") and f",{bottom - 4:.1f}" in crosses[0].get("d", "")
    assert f",{top - 4:.1f}" in crosses[1].get("d", "")


def test_reference_line_and_empty_chart() -> None:
    assert _render([0.5, 2.0], reference=1.0).find(f"{SVG}line[@class='reference']") is not None
    empty = render_chart(Chart("t", "y", (Point("a", None),)))
    assert "not measured" in empty
