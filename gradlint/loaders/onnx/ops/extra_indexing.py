"""Indexing and rearranging ops torch exporters emit beyond the core table.

GatherElements/GatherND (exported from `torch.gather` and advanced indexing), the scatters,
Tile, Trilu, CumSum, TopK, OneHot, NonZero, DepthToSpace and SpaceToDepth. Negative indices
count from the end, as ONNX allows. Everything selects or writes with differentiable torch
calls, so gradients reach the data (not the indices).
"""
from __future__ import annotations

import math

import torch

from gradlint.loaders.onnx.ops.registry import OpContext, ints, onnx_op, optional_input


def _axis(attrs: dict, rank: int, default: int = 0) -> int:
    axis = attrs.get("axis", default)
    return axis + rank if axis < 0 else axis


def _wrap(indices: torch.Tensor, size: int | torch.Tensor) -> torch.Tensor:
    indices = indices.long()
    return torch.where(indices < 0, indices + size, indices)


@onnx_op("GatherElements")
def gather_elements(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
    x = inputs[0]
    axis = _axis(attrs, x.dim())
    return torch.gather(x, axis, _wrap(inputs[1], x.shape[axis]))


def _nd_positions(data: torch.Tensor, indices: torch.Tensor, batch_dims: int) -> tuple:
    """Index tuple into `data` flattened over its batch dims: (batch index, i_0, ..., i_k-1)."""
    k = indices.shape[-1]
    batch = math.prod(data.shape[:batch_dims])
    flat = indices.reshape(batch, -1, k).long()
    sizes = torch.tensor(data.shape[batch_dims : batch_dims + k], device=data.device)
    flat = _wrap(flat, sizes)
    rows = torch.arange(batch, device=data.device).unsqueeze(1).expand(batch, flat.shape[1])
    return (rows, *flat.unbind(-1))


@onnx_op("GatherND")
def gather_nd(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
    data, indices = inputs[0], inputs[1]
    batch_dims, k = attrs.get("batch_dims", 0), indices.shape[-1]
    flat_data = data.reshape(math.prod(data.shape[:batch_dims]), *data.shape[batch_dims:])
    picked = flat_data[_nd_positions(data, indices, batch_dims)]
    return picked.reshape(*indices.shape[:-1], *data.shape[batch_dims + k :])


@onnx_op("ScatterND")
def scatter_nd(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
    data, indices, updates = inputs[0], inputs[1], inputs[2]
    k = indices.shape[-1]
    positions = _nd_positions(data, indices, 0)[1:]
    # Address the first k dims by one linear index, so one index_* call writes every slice.
    strides = torch.tensor([math.prod(data.shape[i + 1 : k]) for i in range(k)], device=data.device)
    linear = sum(p * s for p, s in zip(positions, strides.unbind())).reshape(-1)
    rows = data.reshape(math.prod(data.shape[:k]), *data.shape[k:])
    source = updates.reshape(linear.shape[0], *data.shape[k:])
    reduction = attrs.get("reduction", "none")
    if reduction == "none":
        out = rows.index_copy(0, linear, source)
    elif reduction == "add":
        out = rows.index_add(0, linear, source)
    else:
        mode = {"mul": "prod", "max": "amax", "min": "amin"}[reduction]
        index = linear.reshape(-1, *[1] * (source.dim() - 1)).expand_as(source)
        out = rows.scatter_reduce(0, index, source, mode, include_self=True)
    return out.reshape(data.shape)


@onnx_op("ScatterElements")
def scatter_elements(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
    data, indices, updates = inputs[0], inputs[1], inputs[2]
    axis = _axis(attrs, data.dim())
    index = _wrap(indices, data.shape[axis])
    reduction = attrs.get("reduction", "none")
    if reduction == "none":
        return data.scatter(axis, index, updates)
    mode = {"add": "sum", "mul": "prod", "max": "amax", "min": "amin"}[reduction]
    return data.scatter_reduce(axis, index, updates, mode, include_self=True)


@onnx_op("Tile")
def tile(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
    return inputs[0].repeat(ints(inputs[1]))


@onnx_op("Trilu")
def trilu(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
    k_t = optional_input(inputs, 1)
    k = ints(k_t)[0] if k_t is not None else 0
    return torch.triu(inputs[0], k) if attrs.get("upper", 1) else torch.tril(inputs[0], k)


@onnx_op("CumSum")
def cumsum(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
    x = inputs[0]
    axis = ints(inputs[1])[0]
    axis = axis + x.dim() if axis < 0 else axis
    reverse = bool(attrs.get("reverse", 0))
    y = torch.flip(x, [axis]) if reverse else x
    total = torch.cumsum(y, dim=axis).to(x.dtype)
    if attrs.get("exclusive", 0):
        total = total - y  # each position sums only what comes before it
    return torch.flip(total, [axis]) if reverse else total


@onnx_op("TopK")
def top_k(ctx: OpContext, inputs: list, attrs: dict) -> list:
    x = inputs[0]
    k = ints(inputs[1])[0] if ctx.opset >= 10 else attrs["k"]
    largest = bool(attrs.get("largest", 1))
    values, indices = torch.topk(x, k, dim=attrs.get("axis", -1), largest=largest,
                                 sorted=bool(attrs.get("sorted", 1)))
    return [values, indices]


@onnx_op("OneHot")
def one_hot(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
    indices, values = inputs[0], inputs[2]
    depth = int(inputs[1].reshape(-1)[0])
    axis = _axis(attrs, indices.dim() + 1, default=-1)
    classes = torch.arange(depth, device=indices.device)
    hot = _wrap(indices, depth).unsqueeze(axis)
    shape = [1] * (indices.dim() + 1)
    shape[axis] = depth
    mask = hot == classes.reshape(shape)
    off, on = values.reshape(-1)[0], values.reshape(-1)[1]
    return torch.where(mask, on, off)


@onnx_op("NonZero")
def non_zero(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
    x = inputs[0]
    return torch.nonzero(x.reshape(1) if x.dim() == 0 else x).T.contiguous()


@onnx_op("DepthToSpace")
def depth_to_space(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
    x, b = inputs[0], attrs["blocksize"]
    n, c, h, w = x.shape
    if attrs.get("mode", "DCR") == "DCR":
        y = x.reshape(n, b, b, c // (b * b), h, w).permute(0, 3, 4, 1, 5, 2)
    else:  # CRD
        y = x.reshape(n, c // (b * b), b, b, h, w).permute(0, 1, 4, 2, 5, 3)
    return y.reshape(n, c // (b * b), h * b, w * b)


@onnx_op("SpaceToDepth")
def space_to_depth(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
    x, b = inputs[0], attrs["blocksize"]
    n, c, h, w = x.shape
    y = x.reshape(n, c, h // b, b, w // b, b).permute(0, 3, 5, 1, 2, 4)
    return y.reshape(n, c * b * b, h // b, w // b)
