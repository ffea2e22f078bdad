"""gradlint graph renderers: text table, JSON and Graphviz dot of a LayerGraph."""
from __future__ import annotations

import json
import math

from gradlint.model import Layer, LayerGraph, LayerKind, WeightStats
from gradlint.report.graph import MAX_NAME_WIDTH, layer_graph_dot, layer_graph_json, render_layer_table


def _graph() -> LayerGraph:
    graph = LayerGraph()
    weight = WeightStats(shape=(16, 8), mean=0.0, std=0.5, scaled_std=0.5 * math.sqrt(8), abs_max=1.5,
                         zero_fraction=0.0)
    broken = WeightStats(shape=(4, 16), mean=math.nan, std=math.nan, scaled_std=math.nan, abs_max=math.inf,
                         zero_fraction=0.0, finite=False)
    layers = [
        Layer("x", LayerKind.INPUT, output="x"),
        Layer("fc0", LayerKind.LINEAR, ("Gemm", "Relu"), ("/fc0/Gemm", "/fc0/Relu"), "a0", 8, 16, weight,
              0.1, "relu", None, depth=1),
        Layer('odd "name"\\x' + "n" * 80, LayerKind.LINEAR, ("MatMul",), ("m",), "m", 16, 4, broken, depth=2),
        Layer("y", LayerKind.OUTPUT, output="m", depth=3),
    ]
    for layer in layers:
        graph.add_layer(layer)
    for source, target in zip(layers[:-1], layers[1:]):
        graph.add_edge(source.name, target.name)
    return graph


def test_table_has_a_row_per_layer_and_the_numbers() -> None:
    lines = render_layer_table(_graph()).splitlines()
    assert lines[0].split() == ["name", "kind", "ops", "fan_in", "fan_out", "w_std", "std*sqrt(fan_in)",
                                "activation", "norm"]
    assert set(lines[1]) <= {"-", " "}
    fc0 = lines[3].split()
    assert fc0 == ["fc0", "linear", "Gemm+Relu", "8", "16", "0.5", "1.414", "relu", "-"]
    assert "..." in lines[4] and lines[4].index("  linear") == MAX_NAME_WIDTH
    assert "nan" in lines[4]
    assert lines[-1] == "4 layers (1 input, 2 linear, 1 output), 3 edges"


def test_json_is_complete_and_strict() -> None:
    data = layer_graph_json(_graph())
    text = json.dumps(data, allow_nan=False)  # NaN/Inf became null
    assert json.loads(text)["version"] == 1
    names = [layer["name"] for layer in data["layers"]]
    assert names[0] == "x" and names[-1] == "y"
    fc0 = data["layers"][1]
    assert fc0["nodes"] == ["/fc0/Gemm", "/fc0/Relu"] and fc0["weight"]["shape"] == [16, 8]
    assert fc0["weight"]["scaled_std"] == 0.5 * math.sqrt(8) and fc0["bias_mean"] == 0.1
    assert data["layers"][2]["weight"]["std"] is None and data["layers"][2]["weight"]["finite"] is False
    assert data["edges"] == [["x", "fc0"], ["fc0", names[2]], [names[2], "y"]]


def test_dot_quotes_names_and_lists_edges() -> None:
    dot = layer_graph_dot(_graph())
    assert dot.startswith("digraph layers {") and dot.rstrip().endswith("}")
    assert '"x" -> "fc0";' in dot
    assert '"odd \\"name\\"\\\\x' in dot  # quotes and backslashes escaped
    assert dot.count("->") == 3 and "shape=invhouse" in dot and "shape=house" in dot
