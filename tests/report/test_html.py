from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from dataclasses import replace
from pathlib import Path

from sample_reports import DEPTH, sample_report

from gradlint.findings import Location
from gradlint.model import Layer, LayerKind, WeightStats
from gradlint.report.graph import layer_dict
from gradlint.report.html import merged_layer_rows, render_html

SVG = "{http://www.w3.org/2000/svg}"


def _svgs(page: str) -> list[ElementTree.Element]:
    return [ElementTree.fromstring(svg) for svg in re.findall(r"<svg .*?</svg>", page, flags=re.S)]


def test_page_is_self_contained(tmp_path: Path) -> None:
    page = render_html(sample_report(tmp_path))
    assert page.startswith("<!DOCTYPE html>")
    assert "<script" not in page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//|file:)""", page)
    assert "@import" not in page and "url(" not in page


def test_probed_model_gets_both_profiles_as_valid_svg(tmp_path: Path) -> None:
    gain, sigma = _svgs(render_html(sample_report(tmp_path)))  # only the first model was probed
    assert "gain profile" in gain.get("aria-label", "")
    assert "sigma_max" in sigma.get("aria-label", "")
    for chart in (gain, sigma):
        assert len(chart.findall(f"{SVG}circle")) == DEPTH
        [line] = chart.findall(f"{SVG}polyline")
        assert len(line.get("points", "").split()) == DEPTH
    flagged = [c for c in gain.findall(f"{SVG}circle") if "flagged" in c.get("class", "")]
    assert [c.findtext(f"{SVG}title") for c in flagged] == [f"fc3: {0.25 ** (DEPTH - 4):.3g}"]


def test_gain_profile_falls_with_depth_on_the_plot(tmp_path: Path) -> None:
    gain = _svgs(render_html(sample_report(tmp_path)))[0]
    heights = [float(c.get("cy", "nan")) for c in gain.findall(f"{SVG}circle")]
    # SVG y grows downwards: the early layers' tiny gradients sit lowest.
    assert heights == sorted(heights, reverse=True) and heights[0] > heights[-1]


def test_findings_are_escaped_and_every_model_has_a_section(tmp_path: Path) -> None:
    report = sample_report(tmp_path)
    first = report.models[0]
    hostile = replace(first.findings[0], message="<img src=x onerror=alert(1)>")
    report = replace(report, models=(replace(first, findings=(hostile,)), *report.models[1:]))
    page = render_html(report)
    assert "<img" not in page and "&lt;img src=x" in page
    assert page.count("<section>") == 3
    assert "Could not be analysed: not an ONNX model" in page
    assert "GL902" in page and "encoder.0" in page


def test_layer_rows_join_the_graph_with_the_probe(tmp_path: Path) -> None:
    model = sample_report(tmp_path).models[0]
    assert [row["name"] for row in merged_layer_rows(model)] == [f"fc{i}" for i in range(DEPTH)]
    weight = WeightStats(shape=(64, 64), mean=0.0, std=0.125, scaled_std=1.0, abs_max=0.5, zero_fraction=0.0)
    layers = (
        Layer("fc1", LayerKind.LINEAR, op_types=("Gemm", "Sigmoid"), fan_in=64, weight=weight,
              location=Location("net.py", 7)),
        Layer("relu", LayerKind.OTHER),
    )
    graph_rows = tuple(layer_dict(layer) for layer in layers)
    rows = merged_layer_rows(replace(model, graph_rows=graph_rows))
    assert rows[0]["ops"] == "Gemm+Sigmoid" and rows[0]["weight_scaled_std"] == 1.0
    assert rows[0]["grad_norm"] == model.probe.layer("fc1").grad_norm
    assert "grad_norm" not in rows[1]  # the probe did not measure it: the cell stays empty
    page = render_html(replace(sample_report(tmp_path), models=(replace(model, graph_rows=graph_rows),)))
    assert "Layers (2)" in page and '<td class="num">64</td>' in page and "net.py:7" in page
