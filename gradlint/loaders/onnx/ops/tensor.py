"""Ops that make or relabel tensors: constants, casts, shapes, ranges, dropout (off)."""
from __future__ import annotations

import math

import torch

from gradlint.loaders.onnx.ops.dtypes import ROUNDING_TYPES, torch_dtype
from gradlint.loaders.onnx.ops.registry import OpContext, ints, onnx_op


@onnx_op("Identity")
def identity(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
    return inputs[0]


@onnx_op("Cast")
def cast(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
    return cast_to(inputs[0], int(attrs["to"]), ctx)


def cast_to(x: torch.Tensor, elem_type: int, ctx: OpContext) -> torch.Tensor:
    if elem_type in ROUNDING_TYPES:
        # Reduced precision rounds as the model does, then computes on in the compute dtype.
        return x.to(ROUNDING_TYPES[elem_type]).to(ctx.float_dtype)
    target = torch_dtype(elem_type, ctx.float_dtype)
    if x.is_floating_point() and not target.is_floating_point and target != torch.bool:
        x = torch.trunc(x)  # float -> int truncates toward zero in onnxruntime
    return x.to(target)


@onnx_op("CastLike")
def cast_like(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
    return inputs[0].to(inputs[1].dtype)


@onnx_op("Constant")
def constant(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
    if "value" in attrs:
        return attrs["value"]
    if "value_float" in attrs:
        return torch.tensor(attrs["value_float"], dtype=ctx.float_dtype, device=ctx.device)
    if "value_floats" in attrs:
        return torch.tensor(attrs["value_floats"], dtype=ctx.float_dtype, device=ctx.device)
    if "value_int" in attrs:
        return torch.tensor(attrs["value_int"], dtype=torch.int64, device=ctx.device)
    if "value_ints" in attrs:
        return torch.tensor(attrs["value_ints"], dtype=torch.int64, device=ctx.device)
    raise ValueError(f"Constant node sets none of the tensor attributes gradlint reads: {attrs}")


@onnx_op("ConstantOfShape")
def constant_of_shape(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
    shape = ints(inputs[0])
    value = attrs.get("value")
    if value is None:
        return torch.zeros(shape, dtype=ctx.float_dtype, device=ctx.device)
    return value.reshape(()).expand(shape).clone()


@onnx_op("Shape")
def shape(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
    dims = list(inputs[0].shape)
    start, end = attrs.get("start", 0), attrs.get("end", None)
    return torch.tensor(dims[start:end], dtype=torch.int64, device=inputs[0].device)


@onnx_op("Size")
def size(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
    return torch.tensor(inputs[0].numel(), dtype=torch.int64, device=inputs[0].device)


@onnx_op("Range")
def arange(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
    start, limit, delta = inputs[0], inputs[1], inputs[2]
    count = max(math.ceil((limit.item() - start.item()) / delta.item()), 0)
    steps = torch.arange(count, device=start.device).to(start.dtype)
    return start + steps * delta


@onnx_op("Dropout")
def dropout(ctx: OpContext, inputs: list, attrs: dict) -> list:
    # gradlint analyses the model with dropout off (DESIGN.md): identity, mask all true.
    x = inputs[0]
    if ctx.num_outputs < 2:
        return [x]
    return [x, torch.ones(x.shape, dtype=torch.bool, device=x.device)]


