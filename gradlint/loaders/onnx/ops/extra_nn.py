"""Layers and reductions torch exporters emit beyond the core table.

ConvTranspose (any rank, asymmetric pads, output_padding/output_shape/auto_pad), Einsum,
GroupNormalization (opset 18 per-group affine, opset 21 per-channel), RMSNormalization
(opset 23), LpNormalization, LRN, MeanVarianceNormalization and the norm-like reductions
(ReduceL1/L2/SumSquare/LogSum/LogSumExp; axes an input from opset 18).
"""
from __future__ import annotations

from typing import Callable, Sequence

import torch
import torch.nn.functional as F

from gradlint.loaders.onnx.ops.registry import OpContext, ints, onnx_op, optional_input

_CONV_TRANSPOSE = {1: F.conv_transpose1d, 2: F.conv_transpose2d, 3: F.conv_transpose3d}


@onnx_op("ConvTranspose")
def conv_transpose(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
    x, w, bias = inputs[0], inputs[1], optional_input(inputs, 2)
    spatial = x.dim() - 2
    strides = list(attrs.get("strides", [1] * spatial))
    dilations = list(attrs.get("dilations", [1] * spatial))
    kernel = list(attrs.get("kernel_shape", w.shape[2:]))
    out_pad = list(attrs.get("output_padding", [0] * spatial))
    # Convolve without padding, then grow by output_padding and crop the pads at each end:
    # one F.pad with (output_padding - end, -begin) pairs does both, for asymmetric pads too.
    y = _CONV_TRANSPOSE[spatial](x, w, None, strides, 0, 0, attrs.get("group", 1), dilations)
    begins, ends = _transpose_pads(attrs, x.shape[2:], strides, dilations, kernel, out_pad)
    amounts = []
    for i in reversed(range(spatial)):
        amounts += [-begins[i], out_pad[i] - ends[i]]
    y = F.pad(y, amounts)
    if bias is not None:
        y = y + bias.reshape(1, -1, *[1] * spatial)
    return y


def _transpose_pads(
    attrs: dict,
    sizes: Sequence[int],
    strides: list[int],
    dilations: list[int],
    kernel: list[int],
    out_pad: list[int],
) -> tuple[list[int], list[int]]:
    """(begin, end) pads per spatial axis; from output_shape or auto_pad when either is set."""
    spatial = len(sizes)
    auto_pad = attrs.get("auto_pad", "NOTSET")
    target = attrs.get("output_shape")
    if target is None and auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        target = [size * stride for size, stride in zip(sizes, strides)]
    if target is None:
        pads = list(attrs.get("pads", [0] * 2 * spatial))
        return pads[:spatial], pads[spatial:]
    target = list(target)[-spatial:]
    begins, ends = [], []
    for i in range(spatial):
        full = strides[i] * (sizes[i] - 1) + out_pad[i] + (kernel[i] - 1) * dilations[i] + 1
        total = full - target[i]
        small, large = total // 2, total - total // 2
        upper = auto_pad == "SAME_UPPER"
        begins.append(small if upper else large)
        ends.append(large if upper else small)
    return begins, ends


@onnx_op("Einsum")
def einsum(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
    return torch.einsum(attrs["equation"].replace(" ", ""), *inputs)


@onnx_op("GroupNormalization")
def group_normalization(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
    x, scale, bias = inputs[0], inputs[1], inputs[2]
    groups, eps = attrs["num_groups"], attrs.get("epsilon", 1e-5)
    c = x.shape[1]
    if ctx.opset < 21:  # opset 18 scales and shifts per group, not per channel
        scale = scale.repeat_interleave(c // groups)
        bias = bias.repeat_interleave(c // groups)
    return F.group_norm(x, groups, scale, bias, eps)


@onnx_op("RMSNormalization")
def rms_normalization(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
    x, scale = inputs[0], inputs[1]
    axis = attrs.get("axis", -1)
    axis = axis + x.dim() if axis < 0 else axis
    mean_square = x.pow(2).mean(dim=list(range(axis, x.dim())), keepdim=True)
    return x * torch.rsqrt(mean_square + attrs.get("epsilon", 1e-5)) * scale


@onnx_op("LpNormalization")
def lp_normalization(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
    x = inputs[0]
    p, axis = attrs.get("p", 2), attrs.get("axis", -1)
    return x / torch.linalg.vector_norm(x, ord=p, dim=axis, keepdim=True)


@onnx_op("LRN")
def lrn(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
    x, size = inputs[0], attrs["size"]
    alpha, beta, bias = attrs.get("alpha", 1e-4), attrs.get("beta", 0.75), attrs.get("bias", 1.0)
    n, c = x.shape[0], x.shape[1]
    squares = x.pow(2).reshape(n, 1, c, -1)
    # ONNX sums channels [c - floor((size-1)/2), c + ceil((size-1)/2)]; torch's own LRN
    # centres even windows the other way, so the window is padded here explicitly.
    squares = F.pad(squares, (0, 0, (size - 1) // 2, size // 2))
    window = F.avg_pool2d(squares, (size, 1), stride=1).reshape(x.shape)
    return x / (bias + alpha * window).pow(beta)


@onnx_op("MeanVarianceNormalization")
def mean_variance_normalization(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
    x = inputs[0]
    axes = list(attrs.get("axes", [0, 2, 3]))
    mean = x.mean(dim=axes, keepdim=True)
    var = (x - mean).pow(2).mean(dim=axes, keepdim=True)
    return (x - mean) / (torch.sqrt(var) + 1e-9)  # the epsilon of the ONNX function body


def _reduction_axes(x: torch.Tensor, inputs: list, attrs: dict) -> list[int] | None:
    """The axes to reduce (input from opset 18, attribute before); None: the identity."""
    axes_t = optional_input(inputs, 1)
    axes = ints(axes_t) if axes_t is not None else list(attrs.get("axes", []))
    if not axes:
        return None if attrs.get("noop_with_empty_axes", 0) else list(range(x.dim()))
    return sorted(a + x.dim() if a < 0 else a for a in axes)


def _reduce(op_type: str, fn: Callable[[torch.Tensor, list[int], bool], torch.Tensor]) -> None:
    @onnx_op(op_type)
    def _op(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
        x = inputs[0]
        axes = _reduction_axes(x, inputs, attrs)
        if axes is None:
            return x
        if x.dim() == 0:
            return fn(x.reshape(1), [0], False).reshape(())
        return fn(x, axes, bool(attrs.get("keepdims", 1)))


_reduce("ReduceL1", lambda x, axes, keep: x.abs().sum(dim=axes, keepdim=keep))
_reduce("ReduceL2", lambda x, axes, keep: x.pow(2).sum(dim=axes, keepdim=keep).sqrt())
_reduce("ReduceSumSquare", lambda x, axes, keep: x.pow(2).sum(dim=axes, keepdim=keep))
_reduce("ReduceLogSum", lambda x, axes, keep: x.sum(dim=axes, keepdim=keep).log())
_reduce("ReduceLogSumExp", lambda x, axes, keep: torch.logsumexp(x, dim=axes, keepdim=keep))
