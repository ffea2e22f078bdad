"""Reductions, arg-reductions and softmax.

ReduceSum takes its axes as an input from opset 13, the other reductions from opset 18; an
empty axes list reduces everything unless `noop_with_empty_axes` is set. Softmax before
opset 13 flattens the input to 2-D at `axis` (default 1); from 13 it acts on one axis (-1).
"""
from __future__ import annotations

import math

import torch

from gradlint.loaders.onnx.ops.registry import OpContext, ints, onnx_op, optional_input


def _reduction_axes(x: torch.Tensor, inputs: list, attrs: dict) -> list[int] | None:
    """The axes to reduce; None means 'return the input unchanged'."""
    axes_t = optional_input(inputs, 1)
    axes = ints(axes_t) if axes_t is not None else list(attrs.get("axes", []))
    if not axes:
        if attrs.get("noop_with_empty_axes", 0):
            return None
        return list(range(x.dim()))
    return sorted(a + x.dim() if a < 0 else a for a in axes)


def _reduce(op_type: str, fn) -> None:
    @onnx_op(op_type)
    def _op(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
        x = inputs[0]
        axes = _reduction_axes(x, inputs, attrs)
        if axes is None:
            return x
        keepdims = bool(attrs.get("keepdims", 1))
        if x.dim() == 0:
            return fn(x.reshape(1), [0], keepdims).reshape(())
        return fn(x, axes, keepdims)


def _prod(x: torch.Tensor, axes: list[int], keepdims: bool) -> torch.Tensor:
    for axis in reversed(axes):
        x = torch.prod(x, dim=axis, keepdim=keepdims)
    return x


def _mean(x: torch.Tensor, axes: list[int], keepdims: bool) -> torch.Tensor:
    if x.is_floating_point():
        return torch.mean(x, dim=axes, keepdim=keepdims)
    count = math.prod(x.shape[a] for a in axes)
    return torch.div(torch.sum(x, dim=axes, keepdim=keepdims), count, rounding_mode="trunc")


def _sum(x: torch.Tensor, axes: list[int], keepdims: bool) -> torch.Tensor:
    return torch.sum(x, dim=axes, keepdim=keepdims).to(x.dtype)


_reduce("ReduceMean", _mean)
_reduce("ReduceSum", _sum)
_reduce("ReduceProd", _prod)
_reduce("ReduceMax", lambda x, axes, keep: torch.amax(x, dim=axes, keepdim=keep))
_reduce("ReduceMin", lambda x, axes, keep: torch.amin(x, dim=axes, keepdim=keep))


def _arg(op_type: str, fn) -> None:
    @onnx_op(op_type)
    def _op(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
        x = inputs[0]
        axis = attrs.get("axis", 0)
        axis = axis + x.dim() if axis < 0 else axis
        keepdims = bool(attrs.get("keepdims", 1))
        if attrs.get("select_last_index", 0):
            flipped = fn(torch.flip(x, [axis]), dim=axis, keepdim=keepdims)
            return x.shape[axis] - 1 - flipped
        return fn(x, dim=axis, keepdim=keepdims)


_arg("ArgMax", torch.argmax)
_arg("ArgMin", torch.argmin)


def _softmax(op_type: str, fn) -> None:
    @onnx_op(op_type)
    def _op(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
        x = inputs[0]
        if ctx.opset >= 13:
            return fn(x, dim=attrs.get("axis", -1))
        axis = attrs.get("axis", 1)
        axis = axis + x.dim() if axis < 0 else axis
        flat = x.reshape(math.prod(x.shape[:axis]), math.prod(x.shape[axis:]))
        return fn(flat, dim=1).reshape(x.shape)


_softmax("Softmax", torch.softmax)
_softmax("LogSoftmax", torch.log_softmax)
