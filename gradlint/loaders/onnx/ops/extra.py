"""Elementwise ops and activations that torch exporters emit beyond the core table.

Gelu (opset 20, `approximate` 'none' or 'tanh'), trigonometry, rounding, NaN/Inf tests, Mod,
Xor and the less common activations (Mish, Softsign, Celu, ThresholdedRelu, Shrink), plus
Hardmax. Integer and boolean results are not differentiable, as in ONNX.
"""
from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F

from gradlint.loaders.onnx.ops.registry import OpContext, onnx_op


def _unary(op_type: str, fn: Callable[[torch.Tensor], torch.Tensor]) -> None:
    @onnx_op(op_type)
    def _op(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
        return fn(inputs[0])


for _name, _fn in {
    "Sin": torch.sin, "Cos": torch.cos, "Tan": torch.tan,
    "Asin": torch.asin, "Acos": torch.acos, "Atan": torch.atan,
    "Sinh": torch.sinh, "Cosh": torch.cosh,
    "Asinh": torch.asinh, "Acosh": torch.acosh, "Atanh": torch.atanh,
    "Floor": torch.floor, "Ceil": torch.ceil,
    "Round": torch.round,  # half to even, as ONNX specifies
    "Sign": torch.sign,
    "IsNaN": torch.isnan,
    "Softsign": F.softsign,
    "Mish": F.mish,
}.items():
    _unary(_name, _fn)


@onnx_op("Gelu")
def gelu(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
    return F.gelu(inputs[0], approximate=attrs.get("approximate", "none"))


@onnx_op("IsInf")
def is_inf(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
    x = inputs[0]
    found = torch.zeros_like(x, dtype=torch.bool)
    if attrs.get("detect_positive", 1):
        found = found | torch.isposinf(x)
    if attrs.get("detect_negative", 1):
        found = found | torch.isneginf(x)
    return found


@onnx_op("Mod")
def mod(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
    # fmod=0 takes the divisor's sign (Python %), fmod=1 the dividend's (C fmod).
    a, b = inputs[0], inputs[1]
    return torch.fmod(a, b) if attrs.get("fmod", 0) else torch.remainder(a, b)


@onnx_op("Xor")
def xor(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
    return torch.logical_xor(inputs[0], inputs[1])


@onnx_op("Celu")
def celu(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
    return F.celu(inputs[0], alpha=attrs.get("alpha", 1.0))


@onnx_op("ThresholdedRelu")
def thresholded_relu(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
    x = inputs[0]
    return torch.where(x > attrs.get("alpha", 1.0), x, torch.zeros_like(x))


@onnx_op("Shrink")
def shrink(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
    x = inputs[0]
    lambd, bias = attrs.get("lambd", 0.5), attrs.get("bias", 0.0)
    zero = torch.zeros_like(x)
    return torch.where(x < -lambd, x + bias, torch.where(x > lambd, x - bias, zero))


@onnx_op("Hardmax")
def hardmax(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
    """One at the first maximum along `axis`; before opset 13 over the input flattened at `axis`."""
    x = inputs[0]
    if ctx.opset >= 13:
        axis = attrs.get("axis", -1)
        axis = axis + x.dim() if axis < 0 else axis
        return _one_at_argmax(x, axis)
    axis = attrs.get("axis", 1)
    axis = axis + x.dim() if axis < 0 else axis
    flat = x.reshape(math.prod(x.shape[:axis]), math.prod(x.shape[axis:]))
    return _one_at_argmax(flat, 1).reshape(x.shape)


def _one_at_argmax(x: torch.Tensor, axis: int) -> torch.Tensor:
    index = torch.argmax(x, dim=axis, keepdim=True)  # first occurrence of the maximum
    return torch.zeros_like(x).scatter(axis, index, 1.0)
