"""Weight layers: MatMul, Gemm, Conv (1-D to 3-D, groups, dilations, every auto_pad)."""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from gradlint.loaders.onnx.ops.registry import OpContext, onnx_op, optional_input

_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


@onnx_op("MatMul")
def matmul(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
    return torch.matmul(inputs[0], inputs[1])


@onnx_op("Gemm")
def gemm(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
    a, b, c = inputs[0], inputs[1], optional_input(inputs, 2)
    if attrs.get("transA", 0):
        a = a.transpose(0, 1)
    if attrs.get("transB", 0):
        b = b.transpose(0, 1)
    y = torch.matmul(a, b)
    alpha, beta = attrs.get("alpha", 1.0), attrs.get("beta", 1.0)
    if alpha != 1.0:
        y = alpha * y
    if c is not None:
        y = y + (c if beta == 1.0 else beta * c)
    return y


def spatial_padding(
    attrs: dict, in_sizes: list[int], kernel: list[int], strides: list[int], dilations: list[int]
) -> list[tuple[int, int]]:
    """(begin, end) padding per spatial axis from `pads` or `auto_pad` (ONNX semantics)."""
    auto_pad = attrs.get("auto_pad", "NOTSET")
    rank = len(kernel)
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        result = []
        for size, k, s, d in zip(in_sizes, kernel, strides, dilations):
            total = max((math.ceil(size / s) - 1) * s + (k - 1) * d + 1 - size, 0)
            small, large = total // 2, total - total // 2
            result.append((small, large) if auto_pad == "SAME_UPPER" else (large, small))
        return result
    if auto_pad == "VALID":
        return [(0, 0)] * rank
    pads = list(attrs.get("pads", [0] * (2 * rank)))
    return [(pads[i], pads[i + rank]) for i in range(rank)]


def to_torch_pads(padding: list[tuple[int, int]]) -> list[int]:
    """ONNX per-axis (begin, end) pairs as F.pad's list, last axis first."""
    flat: list[int] = []
    for begin, end in reversed(padding):
        flat += [begin, end]
    return flat


@onnx_op("Conv")
def conv(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
    x, w, b = inputs[0], inputs[1], optional_input(inputs, 2)
    rank = x.dim() - 2
    kernel = list(attrs.get("kernel_shape") or w.shape[2:])
    strides = list(attrs.get("strides") or [1] * rank)
    dilations = list(attrs.get("dilations") or [1] * rank)
    padding = spatial_padding(attrs, list(x.shape[2:]), kernel, strides, dilations)
    if all(k == 1 for k in kernel) and any(s > 1 for s in strides):
        x, strides, padding = _subsampled(x, padding, strides), [1] * rank, [(0, 0)] * rank
    symmetric = all(begin == end for begin, end in padding)
    if not symmetric:
        x = F.pad(x, to_torch_pads(padding))
    torch_padding = [begin for begin, _ in padding] if symmetric else 0
    if rank not in _CONV:
        raise ValueError(f"Conv over {rank} spatial dims is not supported")
    return _CONV[rank](x, w, b, strides, torch_padding, dilations, attrs.get("group", 1))


def _subsampled(x: torch.Tensor, padding: list[tuple[int, int]], strides: list[int]) -> torch.Tensor:
    """The pixels a strided 1x1 convolution reads, so it runs as a stride-1 one: the same
    values and products. torch's own double backward of a strided convolution was 6-20x its
    forward on CPU (ResNet-50's downsampling shortcuts: 0.3-0.6 s each in local sigma_max);
    with the probe's linear-backward convolutions (`analysis/probe/linear_backward.py`) a
    Jacobian-vector product through the strided form still costs 1.1-1.9x the sliced one."""
    if any(begin or end for begin, end in padding):
        x = F.pad(x, to_torch_pads(padding))
    return x[(slice(None), slice(None), *(slice(None, None, s) for s in strides))]
