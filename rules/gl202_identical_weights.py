"""Every unit of a layer starts with the same weights, and so does the layer reading it: the
units stay identical forever.

## What it does
Reports a linear or convolution layer whose output units all have identical incoming weights
(a constant fill, or one row repeated) when every weight layer that consumes it also treats
those units identically (identical outgoing weights, e.g. it is constant too). Read off the
weights, so it is an observation, not a prediction. Depthwise convolutions are exempt (each
filter sees its own channel) and so is a model's last layer (the loss tells its units apart).

## Why it matters
Units that compute the same function and feed the next layer through the same weights receive
the same gradient, so every update keeps them equal: a 128-wide layer trains like a single
unit. Random init exists to break this symmetry.

## Example
`constant_weight_mlp: 0: GL202 [error] all 128 units have identical weights (constant 0.0156)
and the next layer reads them identically: the units can never differ`.

## How to fix
Initialise weights randomly (He/Kaiming for ReLU, Glorot/orthogonal for tanh); never fill
a weight with a constant. If a constant start is intended (an averaging filter), make it
non-trainable.

## References
- Goodfellow, Bengio, Courville 2016, Deep Learning, section 8.4 (breaking symmetry).
"""
from __future__ import annotations

from typing import Iterator

from gradlint.analysis.static_weights import columns_identical, rows_identical
from gradlint.findings import Category, Finding, Severity
from gradlint.model import Layer, LayerGraph, LayerKind, LoadedModel
from gradlint.registry import Rule, RuleContext
from gradlint.static_support import number
from gradlint.verdict import Basis, judged_finding

_MATRIX_KINDS = (LayerKind.LINEAR, LayerKind.CONV)
_PASS_THROUGH = (LayerKind.OTHER, LayerKind.POOL, LayerKind.NORM)


def check(ctx: RuleContext) -> Iterator[Finding]:
    graph = ctx.model.graph
    for layer in graph.layers():
        if layer.kind not in _MATRIX_KINDS or _depthwise(layer) or not _rows_identical(ctx.model, layer):
            continue
        consumers = consuming_weight_layers(graph, layer.name)
        if not consumers or not all(_reads_identically(ctx.model, graph.layer(c)) for c in consumers):
            continue
        units = layer.fan_out if layer.weight is None else _units(layer)
        value = f" (constant {number(layer.weight.mean)})" if layer.weight and layer.weight.std == 0 else ""
        message = (
            f"all {units} units have identical weights{value} and the next layer reads them "
            f"identically: the units can never differ"
        )
        evidence = {"units": units, "consumers": consumers, "weight_std": layer.weight.std if layer.weight else None}
        fix = "initialise the weights randomly (He/Kaiming for ReLU, Glorot or orthogonal for tanh)"
        yield judged_finding(RULE, ctx, layer.name, message, fix, evidence, basis=Basis.OBSERVED)


def consuming_weight_layers(graph: LayerGraph, name: str) -> list[str]:
    """Weight layers reached from `name` through activations, pools and norms only."""
    found, frontier, seen = [], list(graph.successors(name)), set()
    while frontier:
        current = frontier.pop()
        if current in seen:
            continue
        seen.add(current)
        kind = graph.layer(current).kind
        if kind in _MATRIX_KINDS:
            found.append(current)
        elif kind in _PASS_THROUGH:
            frontier.extend(graph.successors(current))
        else:
            return []  # a merge or an op we do not see through: units may be told apart there
    return sorted(found)


def _rows_identical(model: LoadedModel, layer: Layer) -> bool:
    stats = layer.weight
    if stats is None or stats.abs_max == 0.0 or _units(layer) < 2:
        return False  # all-zero weights are GL203's
    return stats.std == 0.0 or bool(rows_identical(model, layer))


def _reads_identically(model: LoadedModel, layer: Layer) -> bool:
    if layer.weight is not None and layer.weight.std == 0.0:
        return True
    return bool(columns_identical(model, layer))


def _depthwise(layer: Layer) -> bool:
    shape = layer.weight.shape if layer.weight is not None else ()
    return layer.kind == LayerKind.CONV and len(shape) >= 3 and shape[1] == 1


def _units(layer: Layer) -> int:
    shape = layer.weight.shape
    if len(shape) == 2 and layer.fan_in is not None and shape[1] != layer.fan_in and shape[0] == layer.fan_in:
        return shape[1]
    return shape[0] if shape else 0


RULE = Rule(
    code="GL202",
    name="identical-weights",
    category=Category.INIT_SCALE,
    severity=Severity.ERROR,
    check=check,
    doc=__doc__ or "",
)
