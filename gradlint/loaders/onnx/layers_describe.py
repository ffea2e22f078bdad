"""Turn a segment of ONNX nodes into the fields of a `Layer`.

Weight values are evaluated once for all layers by the caller (`values`); this module only
reads them. Activations are named after the last one the layer applies, with gated forms
recognised: x * sigmoid(x) is silu, x * hardsigmoid(x) hardswish, x * (1 + erf(...)) gelu.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import onnx

from gradlint.loaders.onnx.graph_index import GraphIndex
from gradlint.loaders.onnx.layers_ops import ACTIVATIONS, GATED_ACTIVATIONS, NORM_OPS, clip_activation
from gradlint.loaders.onnx.layers_segment import Segment
from gradlint.loaders.onnx.layers_signal import SignalInfo
from gradlint.loaders.onnx.layers_weights import WeightRefs, fans, recurrent_matrix
from gradlint.loaders.onnx.weights import weight_stats
from gradlint.model import LayerKind, WeightStats


@dataclass(frozen=True)
class LayerFields:
    """Everything about a layer except its name and depth."""

    kind: LayerKind
    op_types: tuple[str, ...]
    nodes: tuple[str, ...]
    output: str
    fan_in: int | None
    fan_out: int | None
    weight: WeightStats | None
    bias_mean: float | None
    activation: str | None
    normalization: str | None


def describe(
    index: GraphIndex,
    signal: SignalInfo,
    segment: Segment,
    refs: WeightRefs,
    values: dict[str, np.ndarray],
) -> LayerFields:
    positions = sorted(segment.nodes)
    nodes = [index.nodes[pos] for pos in positions]
    anchor = index.nodes[segment.anchor]
    shapes = _weight_shapes(index, refs, values)
    fan_in, fan_out = fans(anchor, segment.kind, refs, shapes)
    return LayerFields(
        kind=segment.kind,
        op_types=tuple(dict.fromkeys(node.op_type for node in nodes)),
        nodes=tuple(node.name for node in nodes),
        output=segment.tail,
        fan_in=fan_in,
        fan_out=fan_out,
        weight=_stats(refs, values, fan_in, segment.kind),
        bias_mean=_mean(values.get(refs.bias or "")),
        activation=activation_of(index, signal, nodes, values),
        normalization=_normalization(segment, anchor, nodes),
    )


def _weight_shapes(
    index: GraphIndex, refs: WeightRefs, values: dict[str, np.ndarray]
) -> dict[str, tuple[int, ...]]:
    shapes: dict[str, tuple[int, ...]] = {}
    for name in refs.names():
        if name in values:
            shapes[name] = tuple(int(d) for d in values[name].shape)
        else:
            static = index.shape(name)
            if static is not None and all(isinstance(d, int) for d in static):
                shapes[name] = tuple(int(d) for d in static)  # type: ignore[arg-type]
    return shapes


def _stats(
    refs: WeightRefs, values: dict[str, np.ndarray], fan_in: int | None, kind: LayerKind
) -> WeightStats | None:
    weight = values.get(refs.weight or "")
    if weight is None or not np.issubdtype(weight.dtype, np.floating):
        return None
    if kind is LayerKind.RECURRENT:
        weight = recurrent_matrix(weight, values.get(refs.recurrent or ""))
    return weight_stats(weight, fan_in)


def _mean(value: np.ndarray | None) -> float | None:
    if value is None or value.size == 0 or not np.issubdtype(value.dtype, np.floating):
        return None
    return float(np.mean(value, dtype=np.float64))


def _normalization(segment: Segment, anchor: onnx.NodeProto, nodes: list[onnx.NodeProto]) -> str | None:
    if segment.normalization is not None:
        return segment.normalization
    if segment.kind is LayerKind.NORM:
        return NORM_OPS.get(anchor.op_type)
    if any(node.op_type == "BatchNormalization" for node in nodes):
        return "batchnorm"
    return None


def activation_of(
    index: GraphIndex, signal: SignalInfo, nodes: list[onnx.NodeProto], values: dict[str, np.ndarray]
) -> str | None:
    current: str | None = None
    for node in nodes:
        if node.op_type == "Clip":
            current = clip_activation(*_clip_bounds(index, node, values))
        elif node.op_type in ACTIVATIONS:
            current = ACTIVATIONS[node.op_type]
        elif node.op_type == "Mul" and current in GATED_ACTIVATIONS and _gates(node, signal):
            current = GATED_ACTIVATIONS[current]
    return current


def _gates(node: onnx.NodeProto, signal: SignalInfo) -> bool:
    """A product of two signal values (x and f(x)), not a scaling by a constant."""
    return len({name for name in node.input if name in signal}) >= 2


def _clip_bounds(
    index: GraphIndex, node: onnx.NodeProto, values: dict[str, np.ndarray]
) -> tuple[float | None, float | None]:
    attrs = {a.name: a.f for a in node.attribute if a.name in ("min", "max")}
    if attrs:
        return attrs.get("min"), attrs.get("max")
    bounds: list[float | None] = []
    for position in (1, 2):
        name = node.input[position] if len(node.input) > position else ""
        value = values.get(name)
        bounds.append(float(value.reshape(-1)[0]) if value is not None and value.size else None)
    return bounds[0], bounds[1]


def clip_bound_names(node: onnx.NodeProto) -> list[str]:
    return [name for name in node.input[1:3] if name] if node.op_type == "Clip" else []
