"""Indexing ops: Slice (attributes before opset 10, inputs after), Gather, Pad.

All of them select with `index_select`/`narrow`/`cat`, which are differentiable and work for
any rank, including negative steps and padding modes torch's own F.pad limits to few dims.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from gradlint.loaders.onnx.ops.registry import OpContext, ints, onnx_op, optional_input


@onnx_op("Slice")
def slice_(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
    x = inputs[0]
    if ctx.opset < 10:
        starts, ends = list(attrs["starts"]), list(attrs["ends"])
        axes, steps = attrs.get("axes"), None
    else:
        starts, ends = ints(inputs[1]), ints(inputs[2])
        axes_t, steps_t = optional_input(inputs, 3), optional_input(inputs, 4)
        axes = ints(axes_t) if axes_t is not None else None
        steps = ints(steps_t) if steps_t is not None else None
    axes = list(axes) if axes is not None else list(range(len(starts)))
    steps = steps or [1] * len(starts)
    for start, end, axis, step in zip(starts, ends, axes, steps):
        x = _slice_axis(x, axis + x.dim() if axis < 0 else axis, start, end, step)
    return x


def _slice_axis(x: torch.Tensor, axis: int, start: int, end: int, step: int) -> torch.Tensor:
    size = x.shape[axis]
    start = start + size if start < 0 else start
    end = end + size if end < 0 else end
    if step > 0:
        start, end = min(max(start, 0), size), min(max(end, 0), size)
        if step == 1:
            return x.narrow(axis, start, max(end - start, 0))
    else:
        start, end = min(max(start, 0), size - 1), min(max(end, -1), size - 1)
    count = max(-((start - end) // step), 0)  # ceil((end - start) / step), never negative
    index = start + step * torch.arange(count, device=x.device)
    return x.index_select(axis, index)


@onnx_op("Gather")
def gather(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
    x, indices = inputs[0], inputs[1].long()
    axis = attrs.get("axis", 0)
    axis = axis + x.dim() if axis < 0 else axis
    indices = torch.where(indices < 0, indices + x.shape[axis], indices)
    picked = x.index_select(axis, indices.reshape(-1))
    return picked.reshape(x.shape[:axis] + indices.shape + x.shape[axis + 1:])


@onnx_op("Pad")
def pad(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
    x = inputs[0]
    mode = attrs.get("mode", "constant")
    if ctx.opset < 11:
        pads, value = list(attrs.get("pads", attrs.get("paddings", []))), attrs.get("value", 0.0)
        axes = list(range(x.dim()))
    else:
        pads = ints(inputs[1])
        value_t, axes_t = optional_input(inputs, 2), optional_input(inputs, 3)
        value = value_t.reshape(()).item() if value_t is not None and value_t.numel() else 0
        axes = ints(axes_t) if axes_t is not None else list(range(x.dim()))
    axes = [a + x.dim() if a < 0 else a for a in axes]
    begins, ends = pads[: len(axes)], pads[len(axes):]
    if mode == "constant":
        torch_pads = [0] * (2 * x.dim())
        for axis, begin, end in zip(axes, begins, ends):
            torch_pads[2 * (x.dim() - 1 - axis)] = begin
            torch_pads[2 * (x.dim() - 1 - axis) + 1] = end
        return F.pad(x, torch_pads, value=value)
    for axis, begin, end in zip(axes, begins, ends):
        x = _pad_axis(x, axis, begin, end, mode)
    return x


def _pad_axis(x: torch.Tensor, axis: int, begin: int, end: int, mode: str) -> torch.Tensor:
    size = x.shape[axis]
    # negative pads crop first
    x = x.narrow(axis, max(-begin, 0), size - max(-begin, 0) - max(-end, 0))
    size, begin, end = x.shape[axis], max(begin, 0), max(end, 0)
    positions = torch.arange(-begin, size + end, device=x.device)
    if mode == "edge":
        index = positions.clamp(0, size - 1)
    elif mode == "reflect":
        period = max(2 * (size - 1), 1)
        folded = positions.remainder(period)
        index = torch.where(folded >= size, period - folded, folded)
    elif mode == "wrap":
        index = positions.remainder(size)
    else:
        raise ValueError(f"Pad mode {mode!r} is not an ONNX padding mode")
    return x.index_select(axis, index)
