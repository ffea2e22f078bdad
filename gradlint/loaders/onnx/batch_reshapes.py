"""Reshapes and constants that follow the batch, so a static-batch export runs on fewer samples.

An export with a fixed batch (torch.onnx.export without dynamic axes) bakes the batch into
its Reshape targets: GPT-2 small's has 108 of them ([8, 128, 768], [1024, 768], ...),
ResNet-50's one ([8, 2048]). The model then refuses to run on one sample, and the probes that
solve one sample instead of eight (per-layer and end-to-end sigma_max) paid for all eight:
on GPT-2 at 8 x 128 tokens that was 134 s of a 165 s run.

For a Reshape whose target is a constant whose leading entry is a multiple of the model's
static batch B, and whose data has a shape known from shape inference, the executor keeps a
second target that follows the batch: the leading entry becomes -1 (inferred), after any
other -1 is made explicit from the data's shape. Constants of the batch's size are the other
obstacle: GPT-2's static export folds its causal mask into [8, 1, 128, 128] initializers whose
8 slices are equal, and on one sample they broadcast the outputs back to 8 rows;
`repeated_along_batch` names such initializers, and a run on fewer samples reads their first
slice, which broadcasts as the whole did.

Both apply only to runs on fewer samples than declared (data smaller than its declared shape,
inputs shorter than the batch), so a run at the declared shapes computes exactly what the file
says. Whether a smaller run computes the model's function on its samples is not assumed: every
probe that runs fewer samples first checks that they reproduce their rows of the whole-batch
run (end_to_end, local_sigma), and solves the whole batch where they do not.
"""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import onnx
import torch
from onnx import numpy_helper

# The compiled Reshape node's attribute: (batch-following target, the data's size at the
# declared shapes), the target to use for data smaller than that.
BATCH_FOLLOWING_TARGET = "gradlint_batch_following_target"


def batch_following_targets(graph: onnx.GraphProto) -> dict[int, tuple[tuple[int, ...], int]]:
    """Node index in `graph` -> (batch-following target, full data size); see the module doc."""
    batch = static_batch(graph)
    if batch is None:
        return {}
    constants = _constant_shapes(graph)
    shapes = _static_shapes(graph)
    targets = {}
    for index, node in enumerate(graph.node):
        if node.op_type != "Reshape" or len(node.input) < 2:
            continue
        target, data_shape = constants.get(node.input[1]), shapes.get(node.input[0])
        if not target or data_shape is None:
            continue
        following = _following(target, batch, data_shape, _allows_zero(node))
        if following is not None:
            targets[index] = (following, math.prod(data_shape))
    return targets


def repeated_along_batch(initializers: Mapping[str, torch.Tensor], batch: int) -> frozenset[str]:
    """Initializers of leading dim `batch` whose slices along it are all equal."""
    return frozenset(
        name for name, value in initializers.items()
        if value.dim() > 1 and value.shape[0] == batch and torch.equal(value, value[:1].expand_as(value))
    )


def static_batch(graph: onnx.GraphProto) -> int | None:
    """The fixed leading dim shared by every graph input, when it is above 1."""
    initializers = {t.name for t in graph.initializer}
    leading = set()
    for value in graph.input:
        if value.name in initializers:
            continue
        dims = value.type.tensor_type.shape.dim if value.type.HasField("tensor_type") else ()
        if not dims or not dims[0].HasField("dim_value"):
            return None
        leading.add(dims[0].dim_value)
    return leading.pop() if len(leading) == 1 and min(leading) > 1 else None


def _following(
    target: Sequence[int], batch: int, data_shape: Sequence[int], allow_zero: bool
) -> tuple[int, ...] | None:
    """Without `allow_zero` (the dynamo exporter sets it) a 0 copies the data's dim."""
    if not allow_zero:
        target = [data_shape[i] if d == 0 and i < len(data_shape) else d for i, d in enumerate(target)]
    if target[0] <= 0 or target[0] % batch or 0 in target:
        return None
    if -1 in target[1:]:
        known = math.prod(d for d in target if d != -1)
        if known == 0 or math.prod(data_shape) % known:
            return None
        target = [math.prod(data_shape) // known if d == -1 else d for d in target]
    return (-1, *target[1:])


def _constant_shapes(graph: onnx.GraphProto) -> dict[str, tuple[int, ...]]:
    """1-D int64 constants (initializers not fed as inputs, Constant nodes) by value name."""
    fed = {value.name for value in graph.input}
    tensors = {t.name: t for t in graph.initializer if t.name not in fed}
    for node in graph.node:
        if node.op_type == "Constant" and node.output:
            for attribute in node.attribute:
                if attribute.name == "value" and attribute.type == onnx.AttributeProto.TENSOR:
                    tensors[node.output[0]] = attribute.t
    return {
        name: tuple(int(v) for v in numpy_helper.to_array(tensor))
        for name, tensor in tensors.items()
        if tensor.data_type == onnx.TensorProto.INT64 and len(tensor.dims) == 1 and 0 < tensor.dims[0] <= 16
    }


def _static_shapes(graph: onnx.GraphProto) -> dict[str, tuple[int, ...]]:
    """Shapes whose every dim is known, by value name."""
    shapes = {}
    for value in (*graph.value_info, *graph.input, *graph.output):
        dims = value.type.tensor_type.shape.dim if value.type.HasField("tensor_type") else ()
        if dims and all(d.HasField("dim_value") for d in dims):
            shapes[value.name] = tuple(d.dim_value for d in dims)
    return shapes


def _allows_zero(node: onnx.NodeProto) -> bool:
    return any(a.name == "allowzero" and a.i for a in node.attribute)
