"""Statistics of one layer's output in the forward probe, kept on the device until the end.

- mean, std: over finite entries (NaN and Inf are counted, not averaged);
- zero_fraction: entries exactly zero;
- dead_fraction: units whose output is exactly zero for every sample and position. A unit is
  an index along the feature axis: axis 1 (channels) for convolution outputs and any 4-D/5-D
  tensor, the last axis otherwise ([batch, features], [batch, tokens, features]);
- saturated_fraction: see `saturation`, from the layer's activation.
Every value is a 0-d tensor so the device is synchronised once for all layers.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from gradlint.analysis.probe.saturation import canonical, saturated_fraction
from gradlint.model import Layer, LayerKind

_CLIP_OPS = {"clip", "hardtanh", "relu6"}


@dataclass(frozen=True)
class ActivationInfo:
    """What saturation means at a layer: its activation, and whether its output is past it."""

    name: str | None
    activated: bool
    unit_axis: int | None = None  # None: decide from the tensor's rank


def activation_info(layer: Layer | None) -> ActivationInfo:
    if layer is None:
        return ActivationInfo(None, False)
    name = canonical(layer.activation)
    ops = {op.lower().lstrip("_").replace("_", "") for op in layer.op_types}
    activated = name is not None and (
        name.replace("_", "") in ops
        or (name in _CLIP_OPS and bool(ops & _CLIP_OPS))
        or layer.kind is LayerKind.OTHER
    )
    return ActivationInfo(name, activated, 1 if layer.kind is LayerKind.CONV else None)


def output_stats(output: torch.Tensor, info: ActivationInfo) -> dict[str, torch.Tensor]:
    with torch.no_grad():
        x = output.detach()
        if x.dtype not in (torch.float32, torch.float64):
            x = x.float()
        finite = torch.isfinite(x)
        count = finite.sum().clamp_min(1)
        clean = torch.where(finite, x, torch.zeros((), dtype=x.dtype, device=x.device))
        # float64 accumulators: sum(x^2)/n - mean^2 stays exact enough even for large means
        mean = clean.sum(dtype=torch.float64) / count
        square = (clean * clean).sum(dtype=torch.float64) / count
        nonzero = x != 0
        nan_count = torch.isnan(x).sum()
        stats = {
            "mean": mean,
            "std": (square - mean * mean).clamp_min(0).sqrt(),
            "zero_fraction": 1 - nonzero.sum(dtype=torch.float64) / max(x.numel(), 1),
            "nan_count": nan_count,
            "inf_count": (x.numel() - finite.sum()) - nan_count,
        }
        dead = dead_fraction(x, info.unit_axis, nonzero)
        if dead is not None:
            stats["dead_fraction"] = dead
        saturated = saturated_fraction(x, info.name, info.activated)
        if saturated is not None:
            stats["saturated_fraction"] = saturated
    return stats


def dead_fraction(
    x: torch.Tensor, unit_axis: int | None = None, nonzero: torch.Tensor | None = None
) -> torch.Tensor | None:
    if x.dim() < 2 or x.numel() == 0:
        return None
    axis = unit_axis if unit_axis is not None else (1 if x.dim() in (4, 5) else x.dim() - 1)
    nonzero = nonzero if nonzero is not None else x != 0
    alive = nonzero.movedim(axis, 0).reshape(x.shape[axis], -1).any(dim=1)
    return (~alive).double().mean()
