"""Shape manipulation: Reshape, Flatten, Transpose, (Un)Squeeze, Concat, Split, Expand.

Axes moved from attributes to inputs in opset 13 (Squeeze, Unsqueeze, Split); both forms are
read, whichever the node uses.
"""
from __future__ import annotations

import math

import torch

from gradlint.loaders.onnx.batch_reshapes import BATCH_FOLLOWING_TARGET
from gradlint.loaders.onnx.ops.registry import OpContext, ints, onnx_op, optional_input


def axes_of(ctx: OpContext, inputs: list, attrs: dict, index: int) -> list[int] | None:
    """Axes from input `index` (newer opsets) or the 'axes' attribute (older), or None."""
    tensor = optional_input(inputs, index)
    if tensor is not None and tensor.numel() > 0:
        return ints(tensor)
    if "axes" in attrs:
        return list(attrs["axes"])
    return None


@onnx_op("Reshape")
def reshape(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
    x, target = inputs[0], ints(inputs[1])
    following = attrs.get(BATCH_FOLLOWING_TARGET)
    if following is not None and x.numel() < following[1]:  # fewer samples than declared
        target = list(following[0])
    if not attrs.get("allowzero", 0):
        target = [x.shape[i] if d == 0 else d for i, d in enumerate(target)]
    return x.reshape(target)


@onnx_op("Flatten")
def flatten(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
    x = inputs[0]
    axis = attrs.get("axis", 1)
    axis = axis + x.dim() if axis < 0 else axis
    outer = math.prod(x.shape[:axis])
    return x.reshape(outer, math.prod(x.shape[axis:]))


@onnx_op("Transpose")
def transpose(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
    x = inputs[0]
    perm = attrs.get("perm") or list(range(x.dim() - 1, -1, -1))
    return x.permute(*perm)


@onnx_op("Squeeze")
def squeeze(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
    x = inputs[0]
    axes = axes_of(ctx, inputs, attrs, 1)
    if axes is None:
        return x.reshape([d for d in x.shape if d != 1])
    axes = {a + x.dim() if a < 0 else a for a in axes}
    return x.reshape([d for i, d in enumerate(x.shape) if i not in axes])


@onnx_op("Unsqueeze")
def unsqueeze(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
    x = inputs[0]
    axes = axes_of(ctx, inputs, attrs, 1) or []
    rank = x.dim() + len(axes)
    inserted = {a + rank if a < 0 else a for a in axes}
    dims = iter(x.shape)
    return x.reshape([1 if i in inserted else next(dims) for i in range(rank)])


@onnx_op("Concat")
def concat(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
    parts = [x for x in inputs if x is not None]
    axis = attrs.get("axis", 0)
    rank = max(x.dim() for x in parts)
    # empty 1-D pieces (a common exporter artefact in shape arithmetic) contribute nothing
    parts = [x for x in parts if not (x.numel() == 0 and x.dim() < rank)] or parts[:1]
    return torch.cat(parts, dim=axis)


@onnx_op("Split")
def split(ctx: OpContext, inputs: list, attrs: dict) -> list:
    x = inputs[0]
    axis = attrs.get("axis", 0)
    length = x.shape[axis]
    sizes_input = optional_input(inputs, 1)
    if sizes_input is not None and sizes_input.numel() > 0:
        sizes = ints(sizes_input)
    elif "split" in attrs:
        sizes = list(attrs["split"])
    else:
        parts = attrs.get("num_outputs", ctx.num_outputs)
        chunk = math.ceil(length / parts)
        sizes = [min(chunk, length - i * chunk) for i in range(parts)]
    return list(torch.split(x, sizes, dim=axis))


@onnx_op("Expand")
def expand(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
    x, target = inputs[0], ints(inputs[1])
    shape = torch.broadcast_shapes(tuple(x.shape), tuple(target))
    return x.expand(shape)
