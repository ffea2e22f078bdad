"""Pooling: MaxPool, AveragePool (explicit pads, ceil_mode, dilations), global pools.

Padding is applied explicitly (F.pad) because ONNX allows asymmetric pads and pads larger
than torch's pooling accepts. AveragePool sums with a ones kernel and divides by the count of
real (or, with count_include_pad, real-or-pad) elements under each window, which matches
onnxruntime at borders and with ceil_mode.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from gradlint.loaders.onnx.ops.nn import spatial_padding, to_torch_pads
from gradlint.loaders.onnx.ops.registry import OpContext, onnx_op

_MAX_POOL = {1: F.max_pool1d, 2: F.max_pool2d, 3: F.max_pool3d}
_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}


def _geometry(x: torch.Tensor, attrs: dict) -> tuple[list[int], list[int], list[int], list]:
    rank = x.dim() - 2
    kernel = list(attrs["kernel_shape"])
    strides = list(attrs.get("strides") or [1] * rank)
    dilations = list(attrs.get("dilations") or [1] * rank)
    padding = spatial_padding(attrs, list(x.shape[2:]), kernel, strides, dilations)
    if attrs.get("ceil_mode", 0):
        padding = [
            (begin, end + _ceil_extra(size + begin + end, k, s, d, begin, size))
            for (begin, end), size, k, s, d in zip(padding, x.shape[2:], kernel, strides, dilations)
        ]
    return kernel, strides, dilations, padding


def _ceil_extra(padded: int, k: int, s: int, d: int, begin: int, size: int) -> int:
    """Extra end padding so floor-mode pooling yields ceil-mode's window count."""
    span = (k - 1) * d + 1
    count = math.ceil((padded - span) / s) + 1
    if (count - 1) * s >= size + begin:  # a window may not start in the end padding
        count -= 1
    return max((count - 1) * s + span - padded, 0)


@onnx_op("MaxPool")
def max_pool(ctx: OpContext, inputs: list, attrs: dict) -> list:
    x = inputs[0]
    kernel, strides, dilations, padding = _geometry(x, attrs)
    padded = F.pad(x, to_torch_pads(padding), value=-math.inf)
    pool = _MAX_POOL[len(kernel)]
    if ctx.num_outputs < 2:
        return [pool(padded, kernel, strides, 0, dilations)]
    y, flat = pool(padded, kernel, strides, 0, dilations, return_indices=True)
    return [y, _onnx_indices(flat, x, padded, padding, attrs.get("storage_order", 0))]


def _onnx_indices(
    flat: torch.Tensor, x: torch.Tensor, padded: torch.Tensor, padding: list, order: int
) -> torch.Tensor:
    """torch's per-plane indices into the padded input, as ONNX's indices into the input."""
    coords = []
    for size in reversed(padded.shape[2:]):
        coords.append(flat % size)
        flat = flat // size
    coords = [c - begin for c, (begin, _) in zip(reversed(coords), padding)]
    sizes = list(x.shape[2:])
    dims = range(len(sizes)) if not order else reversed(range(len(sizes)))
    index = torch.zeros_like(coords[0])
    for axis in dims:
        index = index * sizes[axis] + coords[axis]
    plane = math.prod(sizes)
    n, c = x.shape[:2]
    offsets = torch.arange(n * c, device=x.device).reshape(n, c, *[1] * len(sizes)) * plane
    return index + offsets


@onnx_op("AveragePool")
def average_pool(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
    x = inputs[0]
    kernel, strides, dilations, padding = _geometry(x, attrs)
    channels = x.shape[1]
    ones = torch.ones(channels, 1, *kernel, dtype=x.dtype, device=x.device)
    conv = _CONV[len(kernel)]
    explicit = spatial_padding(attrs, list(x.shape[2:]), kernel, strides, dilations)
    sums = conv(F.pad(x, to_torch_pads(padding)), ones, None, strides, 0, dilations, channels)
    mask = torch.ones(1, 1, *x.shape[2:], dtype=x.dtype, device=x.device)
    if attrs.get("count_include_pad", 0):
        mask = F.pad(mask, to_torch_pads(explicit), value=1.0)
        extra = [(0, end - e_end) for (_, end), (_, e_end) in zip(padding, explicit)]
        mask = F.pad(mask, to_torch_pads(extra))
    else:
        mask = F.pad(mask, to_torch_pads(padding))
    counts = conv(mask, ones[:1], None, strides, 0, dilations)
    return sums / counts


@onnx_op("GlobalAveragePool")
def global_average_pool(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
    x = inputs[0]
    return x.mean(dim=tuple(range(2, x.dim())), keepdim=True)


@onnx_op("GlobalMaxPool")
def global_max_pool(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
    x = inputs[0]
    return x.amax(dim=tuple(range(2, x.dim())), keepdim=True)
