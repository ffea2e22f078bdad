"""The layer table of a report: one plain row per layer of the LayerGraph, in depth order.

Rows are plain dicts so a report carries them without holding on to the graph (and the
weights the graph's loader keeps alive).
"""
from __future__ import annotations

from typing import Any

from gradlint.model import Layer, LayerGraph


def layer_row(layer: Layer) -> dict[str, Any]:
    location = layer.location
    return {
        "name": layer.name,
        "kind": layer.kind.value,
        "ops": "+".join(layer.op_types),
        "depth": layer.depth,
        "fan_in": layer.fan_in,
        "fan_out": layer.fan_out,
        "activation": layer.activation,
        "normalization": layer.normalization,
        "weight_scaled_std": None if layer.weight is None else layer.weight.scaled_std,
        "source": None if location is None or location.line is None else f"{location.path}:{location.line}",
    }


def layer_rows(graph: LayerGraph) -> tuple[dict[str, Any], ...]:
    return tuple(layer_row(layer) for layer in graph.layers())
