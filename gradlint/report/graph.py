"""`gradlint graph`: a model's LayerGraph as a text table, JSON, or Graphviz dot."""
from __future__ import annotations

import math
from typing import Any, Sequence

from gradlint.model import Layer, LayerGraph, LayerKind

GRAPH_JSON_VERSION = 1
# Long exporter names (keras: 100+ characters) are shortened in the middle in the table only.
MAX_NAME_WIDTH = 56
MAX_OPS_WIDTH = 40
_HEADER = ("name", "kind", "ops", "fan_in", "fan_out", "w_std", "std*sqrt(fan_in)", "activation", "norm")
_DOT_SHAPES = {
    LayerKind.INPUT: "invhouse",
    LayerKind.OUTPUT: "house",
    LayerKind.ADD: "circle",
    LayerKind.CONCAT: "circle",
    LayerKind.NORM: "box, style=rounded",
    LayerKind.POOL: "trapezium",
    LayerKind.OTHER: "ellipse",
}


def render_layer_table(graph: LayerGraph) -> str:
    """One row per layer in topological order, columns aligned, a summary line last."""
    rows = [_HEADER] + [_table_row(layer) for layer in graph.layers()]
    widths = [max(len(row[col]) for row in rows) for col in range(len(_HEADER))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    lines.append(_summary(graph))
    return "\n".join(lines) + "\n"


def layer_graph_json(graph: LayerGraph) -> dict[str, Any]:
    layers = graph.layers()
    return {
        "version": GRAPH_JSON_VERSION,
        "layers": [layer_dict(layer) for layer in layers],
        "edges": [[source, target] for source, target in _edges(graph, layers)],
    }


def layer_dict(layer: Layer) -> dict[str, Any]:
    weight = layer.weight
    return {
        "name": layer.name,
        "kind": layer.kind.value,
        "op_types": list(layer.op_types),
        "nodes": list(layer.nodes),
        "output": layer.output,
        "depth": layer.depth,
        "fan_in": layer.fan_in,
        "fan_out": layer.fan_out,
        "weight": None if weight is None else {
            "shape": list(weight.shape),
            "mean": _finite(weight.mean),
            "std": _finite(weight.std),
            "scaled_std": _finite(weight.scaled_std),
            "abs_max": _finite(weight.abs_max),
            "zero_fraction": _finite(weight.zero_fraction),
            "finite": weight.finite,
        },
        "bias_mean": _finite(layer.bias_mean),
        "activation": layer.activation,
        "normalization": layer.normalization,
        "location": None if layer.location is None else {
            "path": layer.location.path, "line": layer.location.line,
        },
    }


def layer_graph_dot(graph: LayerGraph) -> str:
    layers = graph.layers()
    lines = ["digraph layers {", "  rankdir=TB;", '  node [fontname="Helvetica", fontsize=10, shape=box];']
    for layer in layers:
        shape = _DOT_SHAPES.get(layer.kind, "box")
        lines.append(f"  {_quote(layer.name)} [label={_quote(_dot_label(layer))}, shape={shape}];")
    for source, target in _edges(graph, layers):
        lines.append(f"  {_quote(source)} -> {_quote(target)};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _table_row(layer: Layer) -> tuple[str, ...]:
    weight = layer.weight
    return (
        _shorten(layer.name, MAX_NAME_WIDTH),
        layer.kind.value,
        _shorten("+".join(layer.op_types), MAX_OPS_WIDTH),
        _text(layer.fan_in),
        _text(layer.fan_out),
        _number(None if weight is None else weight.std),
        _number(None if weight is None else weight.scaled_std),
        layer.activation or "-",
        layer.normalization or "-",
    )


def _summary(graph: LayerGraph) -> str:
    counts: dict[str, int] = {}
    for layer in graph.layers():
        counts[layer.kind.value] = counts.get(layer.kind.value, 0) + 1
    parts = ", ".join(f"{count} {kind}" for kind, count in sorted(counts.items()))
    return f"{len(graph)} layers ({parts}), {graph.graph.number_of_edges()} edges"


def _edges(graph: LayerGraph, layers: Sequence[Layer]) -> list[tuple[str, str]]:
    order = {layer.name: i for i, layer in enumerate(layers)}
    return sorted(graph.graph.edges, key=lambda edge: (order[edge[1]], order[edge[0]]))


def _dot_label(layer: Layer) -> str:
    details = [layer.kind.value]
    if layer.op_types:
        details.append("+".join(layer.op_types[:4]) + ("+..." if len(layer.op_types) > 4 else ""))
    if layer.fan_in is not None:
        details.append(f"fan_in {layer.fan_in}")
    if layer.activation:
        details.append(layer.activation)
    return f"{layer.name}\n{' | '.join(details)}"


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


def _shorten(text: str, width: int) -> str:
    if len(text) <= width:
        return text
    keep = width - 3
    return f"{text[: keep // 2]}...{text[len(text) - (keep - keep // 2):]}"


def _text(value: int | None) -> str:
    return "-" if value is None else str(value)


def _number(value: float | None) -> str:
    if value is None:
        return "-"
    if not math.isfinite(value):
        return str(value)
    return f"{value:.4g}"


def _finite(value: float | None) -> float | None:
    """JSON has no NaN/Inf: such values become null."""
    return value if value is not None and math.isfinite(value) else None
