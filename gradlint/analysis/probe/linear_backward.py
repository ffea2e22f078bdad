"""Convolutions whose input gradient is itself a convolution, for double-backward products.

The probe's Jacobian-vector products differentiate a recorded backward pass along its
cotangent (`jacobian.GraphJacobian`). torch's derivative of a convolution's backward
(`_convolution_double_backward`, torch 2.13) computes the weight term conv(ggI, gO) whenever
a tangent reaches it, whatever its output mask says, although the probe never asks for it: on
ResNet-50's 3x3 convolutions that term was a third of every product, and with a stride
(its dilation and stride swapped) it cost several times the forward convolution.

Recorded under `linear_backward_convolutions()`, conv1d/2d/3d and conv_transpose1d/2d/3d
become `_Convolution`, whose backward writes the input gradient as the adjoint convolution
(transposed for a plain one, plain for a transposed one): an ordinary differentiable op whose
own backward honours its mask, so differentiating it along the cotangent costs one
convolution. Values and first derivatives are torch's own (the same aten kernels); only the
graph the second derivative walks changes. A call this cannot mirror exactly ('same' padding
of odd total, a transposed output_padding not below its stride, unusual argument types) runs
as torch's own.
"""
from __future__ import annotations

import contextlib
from typing import Any, Iterator, Sequence

import torch
from torch.overrides import TorchFunctionMode

_FORWARD = {torch.conv1d: 1, torch.conv2d: 2, torch.conv3d: 3}
_TRANSPOSED = {torch.conv_transpose1d: 1, torch.conv_transpose2d: 2, torch.conv_transpose3d: 3}
_FORWARD_ARGS = ("input", "weight", "bias", "stride", "padding", "dilation", "groups")
_TRANSPOSED_ARGS = ("input", "weight", "bias", "stride", "padding", "output_padding", "groups", "dilation")


@contextlib.contextmanager
def linear_backward_convolutions() -> Iterator[None]:
    """Convolutions called inside record a backward whose derivative skips the weight term."""
    with _ConvolutionMode():
        yield


class _ConvolutionMode(TorchFunctionMode):
    def __torch_function__(self, func: Any, types: Any, args: Sequence = (), kwargs: dict | None = None) -> Any:
        kwargs = kwargs or {}
        call = _convolution_call(func, args, kwargs)
        if call is not None:
            return _Convolution.apply(*call)
        return func(*args, **kwargs)


def _convolution_call(func: Any, args: Sequence, kwargs: dict) -> tuple | None:
    """`_Convolution`'s arguments with every size a tuple, or None where torch's own call runs."""
    transposed = func in _TRANSPOSED
    rank = _TRANSPOSED.get(func) or _FORWARD.get(func)
    if rank is None:
        return None
    names = _TRANSPOSED_ARGS if transposed else _FORWARD_ARGS
    values: dict[str, object] = {"bias": None, "stride": 1, "padding": 0, "output_padding": 0, "dilation": 1, "groups": 1}
    values.update(zip(names, args))
    values.update(kwargs)
    x, weight = values.get("input"), values.get("weight")
    if not isinstance(x, torch.Tensor) or not isinstance(weight, torch.Tensor) or x.dim() != rank + 2:
        return None
    stride, dilation = _sizes(values["stride"], rank), _sizes(values["dilation"], rank)
    padding = _padding(values["padding"], weight.shape[2:], dilation, rank)
    output_padding = _sizes(values["output_padding"], rank)
    sizes = (stride, padding, dilation, output_padding)
    if any(size is None for size in sizes) or not isinstance(values["groups"], int):
        return None
    if transposed and any(extra >= step for extra, step in zip(output_padding, stride)):
        return None  # rows the adjoint convolution cannot give back (output_padding >= stride)
    return x, weight, values["bias"], transposed, *sizes, values["groups"]


def _sizes(value: object, rank: int) -> tuple[int, ...] | None:
    if isinstance(value, int):
        return (value,) * rank
    if isinstance(value, (tuple, list)) and len(value) == rank and all(isinstance(v, int) for v in value):
        return tuple(value)
    return None


def _padding(
    value: object, kernel: Sequence[int], dilation: tuple[int, ...] | None, rank: int
) -> tuple[int, ...] | None:
    if value == "valid":
        return (0,) * rank
    if value == "same" and dilation is not None:
        totals = [d * (k - 1) for d, k in zip(dilation, kernel)]
        return tuple(t // 2 for t in totals) if all(t % 2 == 0 for t in totals) else None
    return _sizes(value, rank)


class _Convolution(torch.autograd.Function):
    """torch's convolution (plain or transposed) forward; its backward as differentiable
    convolutions: a convolution's input gradient is the transposed convolution, and a
    transposed convolution's the plain one, with the same stride, padding and dilation."""

    @staticmethod
    def forward(
        x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, transposed: bool,
        stride: tuple[int, ...], padding: tuple[int, ...], dilation: tuple[int, ...],
        output_padding: tuple[int, ...], groups: int,
    ) -> torch.Tensor:
        return torch.ops.aten.convolution(
            x, weight, bias, stride, padding, dilation, transposed, output_padding, groups
        )

    @staticmethod
    def setup_context(ctx: Any, inputs: tuple, output: torch.Tensor) -> None:
        x, weight, _, transposed, stride, padding, dilation, output_padding, groups = inputs
        ctx.save_for_backward(x, weight)
        ctx.options = (transposed, stride, padding, dilation, output_padding, groups)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple:
        x, weight = ctx.saved_tensors
        transposed, stride, padding, dilation, output_padding, groups = ctx.options
        grad_x = grad_weight = grad_bias = None
        if ctx.needs_input_grad[0]:
            # The adjoint's output_padding: the input rows a strided window never reached.
            adjoint_padding = [0] * len(stride) if transposed else _output_padding(
                x, grad, weight, stride, padding, dilation
            )
            grad_x = torch.ops.aten.convolution(
                grad, weight, None, stride, padding, dilation, not transposed, adjoint_padding, groups
            )
        if ctx.needs_input_grad[1]:
            grad_weight = torch.ops.aten.convolution_backward(
                grad, x, weight, None, stride, padding, dilation, transposed, output_padding, groups,
                [False, True, False],
            )[1]
        if ctx.needs_input_grad[2]:
            grad_bias = grad.sum(dim=[0, *range(2, grad.dim())])
        return grad_x, grad_weight, grad_bias, None, None, None, None, None, None


def _output_padding(
    x: torch.Tensor, grad: torch.Tensor, weight: torch.Tensor, stride: Sequence[int],
    padding: Sequence[int], dilation: Sequence[int],
) -> list[int]:
    """What the transposed convolution adds so its output has the input's size: the rows a
    strided convolution's last window left unread (always below the stride)."""
    return [
        size - ((out - 1) * s - 2 * p + d * (k - 1) + 1)
        for size, out, s, p, d, k in zip(
            x.shape[2:], grad.shape[2:], stride, padding, dilation, weight.shape[2:]
        )
    ]
