"""Where a layer's weights live, and its fan-in and fan-out read off their shapes.

Conventions (the static rules compare std * sqrt(fan_in) against He/Glorot/LeCun):
- Conv [C_out, C_in/groups, k...]: fan_in = C_in/groups * prod(k), fan_out = C_out * prod(k);
- ConvTranspose [C_in, C_out/groups, k...]: fan_in = C_in/groups * prod(k) / prod(strides);
- Gemm/MatMul: fan_in is the contracted dimension of the constant operand (transB honoured);
- LSTM/GRU/RNN: the stats cover [W | R] side by side, fan_in = input_size + hidden_size;
- embedding [V, D]: fan_in = 1 (a one-hot row selects one entry), fan_out = D;
- norms: stats of the scale (gamma), no fan.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

import numpy as np
import onnx

from gradlint.loaders.onnx.graph_index import GraphIndex
from gradlint.loaders.onnx.layers_segment import Segment
from gradlint.loaders.onnx.layers_signal import SignalInfo
from gradlint.model import LayerKind


@dataclass(frozen=True)
class WeightRefs:
    """Value names of a layer's main weight, recurrent weight and bias (None: absent)."""

    weight: str | None = None
    recurrent: str | None = None
    bias: str | None = None
    weight_first: bool = False  # MatMul/Gemm with the constant as the left operand

    def names(self) -> list[str]:
        return [n for n in (self.weight, self.recurrent, self.bias) if n]


def weight_refs(index: GraphIndex, signal: SignalInfo, segment: Segment) -> WeightRefs:
    node = index.nodes[segment.anchor]
    inputs = list(node.input) + [""] * 4
    kind = segment.kind
    if kind is LayerKind.CONV:
        refs = WeightRefs(inputs[1] or None, None, inputs[2] or None)
    elif kind is LayerKind.LINEAR:
        refs = _linear_refs(index, signal, node, inputs)
    elif kind is LayerKind.RECURRENT:
        refs = WeightRefs(inputs[1] or None, inputs[2] or None, inputs[3] or None)
    elif kind is LayerKind.EMBEDDING:
        refs = WeightRefs(inputs[0])
    elif kind is LayerKind.NORM and node.op_type != "LRN" and segment.normalization is None:
        refs = WeightRefs(inputs[1] or None, None, inputs[2] or None)
    else:
        return WeightRefs()
    if refs.bias is None and kind in (LayerKind.CONV, LayerKind.LINEAR):
        refs = WeightRefs(refs.weight, None, _bias_add(index, signal, segment), refs.weight_first)
    return refs


def _linear_refs(
    index: GraphIndex, signal: SignalInfo, node: onnx.NodeProto, inputs: list[str]
) -> WeightRefs:
    left, right = inputs[0], inputs[1]
    weight_first = left not in signal and (left in index.constants or right in signal)
    weight = left if weight_first else right
    bias = inputs[2] if node.op_type == "Gemm" and inputs[2] else None
    return WeightRefs(weight or None, None, bias, weight_first)


def _bias_add(index: GraphIndex, signal: SignalInfo, segment: Segment) -> str | None:
    """The constant operand of the first Add after the weight op (MatMul + Add = Linear)."""
    for pos in sorted(p for p in segment.nodes if p > segment.anchor):
        node = index.nodes[pos]
        if node.op_type != "Add":
            continue
        others = [n for n in node.input if n not in signal]
        if len(others) == 1 and others[0] in index.constants:
            return others[0]
        return None
    return None


def fans(
    node: onnx.NodeProto, kind: LayerKind, refs: WeightRefs, shapes: dict[str, tuple[int, ...]]
) -> tuple[int | None, int | None]:
    shape = shapes.get(refs.weight or "")
    if shape is None or kind in (LayerKind.NORM,):
        return None, None
    if kind is LayerKind.CONV and len(shape) >= 2:
        return _conv_fans(node, shape)
    if kind is LayerKind.LINEAR:
        return _linear_fans(node, shape, refs.weight_first)
    if kind is LayerKind.RECURRENT and len(shape) == 3:
        hidden = _int_attr(node, "hidden_size") or _hidden_from(shapes.get(refs.recurrent or ""))
        return shape[2] + (hidden or 0), hidden
    if kind is LayerKind.EMBEDDING and len(shape) == 2:
        return 1, shape[1]
    return None, None


def _conv_fans(node: onnx.NodeProto, shape: Sequence[int]) -> tuple[int, int]:
    receptive = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    if node.op_type == "ConvTranspose":
        groups = _int_attr(node, "group") or 1
        strides = _ints_attr(node, "strides") or [1]
        fan_in = max(1, round((shape[0] // groups) * receptive / math.prod(strides)))
        return fan_in, shape[1] * groups * receptive
    return shape[1] * receptive, shape[0] * receptive


def _linear_fans(
    node: onnx.NodeProto, shape: Sequence[int], weight_first: bool
) -> tuple[int | None, int | None]:
    if len(shape) == 1:
        return shape[0], 1
    if len(shape) < 2:
        return None, None
    rows, cols = shape[-2], shape[-1]
    if node.op_type == "Gemm":
        transposed = _int_attr(node, "transA" if weight_first else "transB") == 1
        if transposed:
            rows, cols = cols, rows
    # x @ W contracts W's rows; W @ x contracts W's columns.
    return (cols, rows) if weight_first else (rows, cols)


def _hidden_from(recurrent_shape: tuple[int, ...] | None) -> int | None:
    return recurrent_shape[2] if recurrent_shape and len(recurrent_shape) == 3 else None


def recurrent_matrix(w: np.ndarray, r: np.ndarray | None) -> np.ndarray:
    """[W | R] per direction, the matrix an LSTM applies to [x_t, h_{t-1}]."""
    return w if r is None or r.shape[:2] != w.shape[:2] else np.concatenate([w, r], axis=-1)


def _int_attr(node: onnx.NodeProto, name: str) -> int | None:
    return next((a.i for a in node.attribute if a.name == name), None)


def _ints_attr(node: onnx.NodeProto, name: str) -> list[int] | None:
    return next((list(a.ints) for a in node.attribute if a.name == name), None)
