"""Elementwise arithmetic and activations (multidirectional broadcasting, opset 7+)."""
from __future__ import annotations

import math
from functools import reduce

import torch
import torch.nn.functional as F

from gradlint.loaders.onnx.ops.registry import OpContext, onnx_op, optional_input


def _binary(op_type: str, fn) -> None:
    @onnx_op(op_type)
    def _op(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
        return fn(inputs[0], inputs[1])


def _divide(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    if a.is_floating_point() or b.is_floating_point():
        return torch.div(a, b)
    return torch.div(a, b, rounding_mode="trunc")  # C integer division, as onnxruntime does


def _power(base: torch.Tensor, exponent: torch.Tensor) -> torch.Tensor:
    # ONNX Pow keeps the base's type; an integer exponent on a float base stays exact.
    if base.is_floating_point() and not exponent.is_floating_point():
        exponent = exponent.to(base.dtype)
    result = torch.pow(base, exponent)
    return result if result.dtype == base.dtype else result.to(base.dtype)


_binary("Add", torch.add)
_binary("Sub", torch.sub)
_binary("Mul", torch.mul)
_binary("Div", _divide)
_binary("Pow", _power)
_binary("Equal", torch.eq)
_binary("Less", torch.lt)
_binary("Greater", torch.gt)
_binary("LessOrEqual", torch.le)
_binary("GreaterOrEqual", torch.ge)
_binary("And", torch.logical_and)
_binary("Or", torch.logical_or)


def _unary(op_type: str, fn) -> None:
    @onnx_op(op_type)
    def _op(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
        return fn(inputs[0])


_unary("Neg", torch.neg)
_unary("Abs", torch.abs)
_unary("Sqrt", torch.sqrt)
_unary("Reciprocal", torch.reciprocal)
_unary("Exp", torch.exp)
_unary("Log", torch.log)
_unary("Erf", torch.erf)
_unary("Tanh", torch.tanh)
_unary("Sigmoid", torch.sigmoid)
_unary("Relu", torch.relu)
_unary("Not", torch.logical_not)
_unary("Softplus", lambda x: torch.log1p(torch.exp(-x.abs())) + torch.relu(x))
_unary("HardSwish", F.hardswish)

SELU_ALPHA = 1.67326319217681884765625
SELU_GAMMA = 1.05070102214813232421875


@onnx_op("LeakyRelu")
def leaky_relu(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
    return F.leaky_relu(inputs[0], attrs.get("alpha", 0.01))


@onnx_op("Elu")
def elu(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
    return F.elu(inputs[0], attrs.get("alpha", 1.0))


@onnx_op("Selu")
def selu(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
    alpha, gamma = attrs.get("alpha", SELU_ALPHA), attrs.get("gamma", SELU_GAMMA)
    x = inputs[0]
    return gamma * torch.where(x > 0, x, alpha * torch.expm1(torch.clamp(x, max=0)))


@onnx_op("HardSigmoid")
def hard_sigmoid(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
    alpha, beta = attrs.get("alpha", 0.2), attrs.get("beta", 0.5)
    return torch.clamp(alpha * inputs[0] + beta, 0.0, 1.0)


@onnx_op("PRelu")
def prelu(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
    x, slope = inputs[0], inputs[1]
    return torch.where(x < 0, x * slope, x)


@onnx_op("Clip")
def clip(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
    x = inputs[0]
    if ctx.opset < 11:
        low, high = attrs.get("min", -math.inf), attrs.get("max", math.inf)
        return torch.clamp(x, min=low, max=high)
    low, high = optional_input(inputs, 1), optional_input(inputs, 2)
    if low is not None:
        x = torch.maximum(x, low.to(x.dtype))
    if high is not None:
        x = torch.minimum(x, high.to(x.dtype))
    return x


def _variadic(op_type: str, fn) -> None:
    @onnx_op(op_type)
    def _op(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
        return reduce(fn, [x for x in inputs if x is not None])


_variadic("Min", torch.minimum)
_variadic("Max", torch.maximum)
_variadic("Sum", torch.add)


@onnx_op("Mean")
def mean(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
    present = [x for x in inputs if x is not None]
    return reduce(torch.add, present) / len(present)


@onnx_op("Where")
def where(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
    return torch.where(inputs[0].bool(), inputs[1], inputs[2])
