"""Resize (opset 10+): nearest, linear and cubic, every coordinate transformation mode.

F.interpolate covers only some of ONNX's combinations (no asymmetric linear, no
tf_crop_and_resize, 4-D only for cubic), so Resize is computed here separably, one axis at a
time: map each output position to a source coordinate by the spec's formula, then gather the
neighbouring inputs and mix them with the mode's weights. Gathers and weighted sums keep it
differentiable in the input. Coordinates are float32, as onnxruntime computes them, so
nearest-neighbour rounding at exact halves agrees with it.
"""
from __future__ import annotations

import math

import torch

from gradlint.loaders.onnx.ops.registry import OpContext, onnx_op, optional_input


@onnx_op("Resize")
def resize(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
    x = inputs[0]
    if ctx.opset < 11:
        attrs = {"coordinate_transformation_mode": "asymmetric", "nearest_mode": "floor", **attrs}
        roi, scales, sizes = None, inputs[1], None
    else:
        roi, scales, sizes = (optional_input(inputs, i) for i in (1, 2, 3))
    axes = [a + x.dim() if a < 0 else a for a in attrs.get("axes", range(x.dim()))]
    plan = _plan(x, axes, scales, sizes, attrs.get("keep_aspect_ratio_policy", "stretch"))
    roi_values = roi.reshape(-1).tolist() if roi is not None and roi.numel() else None
    if attrs.get("antialias", 0) and any(scale < 1 for _, _, scale in plan):
        raise NotImplementedError("Resize with antialias=1 when downsampling is not supported")
    for position, (axis, size, scale) in enumerate(plan):
        box = (0.0, 1.0)
        if roi_values:  # starts for every axis, then ends
            box = (roi_values[position], roi_values[position + len(axes)])
        x = _resize_axis(x, axis, size, scale, box, attrs)
    return x


def _plan(
    x: torch.Tensor,
    axes: list[int],
    scales: torch.Tensor | None,
    sizes: torch.Tensor | None,
    policy: str,
) -> list[tuple[int, int, float]]:
    """(axis, output size, scale) for every resized axis."""
    if sizes is not None and sizes.numel():
        targets = [int(v) for v in sizes.reshape(-1).tolist()]
        ratios = [t / x.shape[a] for a, t in zip(axes, targets)]
        if policy != "stretch":  # one scale for every axis, so the aspect ratio is kept
            ratio = min(ratios) if policy == "not_larger" else max(ratios)
            targets = [int(math.floor(ratio * x.shape[a] + 0.5)) for a in axes]
            ratios = [ratio] * len(axes)
        # onnxruntime divides in float32; round the scale the same way
        ratios = [float(torch.tensor(r, dtype=torch.float32)) for r in ratios]
        return list(zip(axes, targets, ratios))
    values = [float(v) for v in scales.reshape(-1).tolist()]
    return [(a, int(math.floor(x.shape[a] * s)), s) for a, s in zip(axes, values)]


def _source_coordinates(
    size_in: int, size_out: int, scale: float, box: tuple[float, float], attrs: dict
) -> torch.Tensor:
    """Where each output position samples the input, by coordinate_transformation_mode."""
    x = torch.arange(size_out, dtype=torch.float32)
    s = torch.tensor(scale, dtype=torch.float32)
    mode = attrs.get("coordinate_transformation_mode", "half_pixel")
    if mode == "asymmetric":
        return x / s
    if mode == "align_corners":
        return torch.zeros_like(x) if size_out == 1 else x * (size_in - 1) / (size_out - 1)
    if mode == "pytorch_half_pixel":
        return (x + 0.5) / s - 0.5 if size_out > 1 else torch.zeros_like(x)
    if mode == "half_pixel_symmetric":
        adjustment = size_out / (s * size_in)
        return size_in / 2 * (1 - adjustment) + (x + 0.5) / s - 0.5
    if mode == "tf_crop_and_resize":
        start, end = box
        if size_out == 1:
            return torch.full_like(x, 0.5 * (start + end) * (size_in - 1))
        return start * (size_in - 1) + x * (end - start) * (size_in - 1) / (size_out - 1)
    return (x + 0.5) / s - 0.5  # half_pixel


def _taps(coords: torch.Tensor, size_in: int, attrs: dict) -> tuple[list, list]:
    """Source indices and weights per output position for the interpolation mode."""
    mode = attrs.get("mode", "nearest")
    if mode == "nearest":
        rounding = attrs.get("nearest_mode", "round_prefer_floor")
        index = {
            "round_prefer_floor": lambda c: torch.ceil(c - 0.5),
            "round_prefer_ceil": lambda c: torch.floor(c + 0.5),
            "floor": torch.floor,
            "ceil": torch.ceil,
        }[rounding](coords)
        return [index], [torch.ones_like(coords)]
    if mode == "linear":
        clamped = coords.clamp(0, size_in - 1)
        low = torch.floor(clamped)
        frac = clamped - low
        return [low, low + 1], [1 - frac, frac]
    low = torch.floor(coords)
    t = coords - low
    a = attrs.get("cubic_coeff_a", -0.75)
    distances = [t + 1, t, 1 - t, 2 - t]
    weights = [_cubic(d, a) for d in distances]
    indices = [low - 1, low, low + 1, low + 2]
    if attrs.get("exclude_outside", 0):
        weights = [w * ((i >= 0) & (i <= size_in - 1)) for w, i in zip(weights, indices)]
        total = sum(weights)
        weights = [w / total for w in weights]
    return indices, weights


def _cubic(d: torch.Tensor, a: float) -> torch.Tensor:
    """Keys' cubic convolution kernel at distance d (0 <= d < 2)."""
    near = ((a + 2) * d - (a + 3)) * d * d + 1
    far = ((a * d - 5 * a) * d + 8 * a) * d - 4 * a
    return torch.where(d <= 1, near, far)


def _resize_axis(
    x: torch.Tensor, axis: int, size_out: int, scale: float, box: tuple[float, float], attrs: dict
) -> torch.Tensor:
    size_in = x.shape[axis]
    coords = _source_coordinates(size_in, size_out, scale, box, attrs)
    indices, weights = _taps(coords, size_in, attrs)
    moved = x.movedim(axis, -1)
    out = None
    for index, weight in zip(indices, weights):
        picked = moved.index_select(-1, index.clamp(0, size_in - 1).long().to(x.device))
        if x.is_floating_point():
            picked = picked * weight.to(device=x.device, dtype=x.dtype)
        out = picked if out is None else out + picked
    if attrs.get("coordinate_transformation_mode") == "tf_crop_and_resize":
        outside = ((coords < 0) | (coords > size_in - 1)).to(x.device)
        fill = torch.full_like(out, attrs.get("extrapolation_value", 0.0))
        out = torch.where(outside, fill, out)
    return out.movedim(-1, axis)
