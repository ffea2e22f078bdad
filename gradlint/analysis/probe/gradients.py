"""The backward probe: gradient norms at every layer output and every parameter, in one pass.

Definitions (B = probe batch, u = the unit cotangents of `cotangents`):

- `grad_norm` of a layer: ||dL/dh||_F / sqrt(B) with L = <u, outputs>, the root mean square
  over samples of the per-sample gradient norm. It is 1 at the outputs by construction.
- `grad_profile`, the depth profile made comparable across layers: `grad_norm` with the fixed
  shrinkage of pooling layers divided out. Why this and not a per-element RMS: across a weight
  layer with weights of variance s^2, the *total* squared gradient norm changes by
  s^2 * fan_in * E[phi'(z)^2], the same mean-field gain chi the static rules compute, whatever
  the layer's width, kernel or stride (a forward-variance-preserving init keeps the total
  norm, while the per-element RMS drifts by sqrt(width_in / width_out) in a perfectly healthy
  network). So raw total norms are already width- and stride-comparable; what is not is
  averaging over positions (average/global pooling), which divides the norm by
  sqrt(window) -- a 7x drop at a 7x7 global pool -- by geometry that no init can change. The
  profile multiplies every layer upstream of a pooling layer by that pool's measured gain
  ||g_out|| / ||g_in||, so a healthy CNN reads flat across its poolings.
- per parameter: ||grad||, ||weight|| and their ratio, the relative size of a first SGD step.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterable, Sequence

import torch

from gradlint.analysis.probe.capture import ProbePass, tensor_norm
from gradlint.analysis.probe.cotangents import unit_cotangents


@dataclass(frozen=True)
class ParameterGradient:
    name: str
    grad_norm: float | None
    weight_norm: float


@dataclass(frozen=True)
class BackwardResult:
    per_sample: bool
    parameters: tuple[ParameterGradient, ...]
    input_grad_norms: dict[str, float]


def backward_pass(
    probe: ProbePass,
    parameters: Sequence[tuple[str, torch.Tensor]],
    batch: int,
    generator: torch.Generator,
) -> BackwardResult:
    """Seed the outputs with unit cotangents; gradients reach the layer hooks and `parameters`."""
    outputs = tuple(probe.outputs.values())
    trainable = [(n, p) for n, p in parameters if p.requires_grad]
    float_inputs = [(n, t) for n, t in probe.inputs.items() if t.requires_grad]
    targets = [p for _, p in trainable] + [t for _, t in float_inputs]
    if not outputs or not targets:
        return BackwardResult(False, (), {})
    cotangents, per_sample = unit_cotangents(outputs, batch, generator)
    grads = torch.autograd.grad(outputs, targets, cotangents, allow_unused=True)
    probe.remove_hooks()
    scale = math.sqrt(max(batch, 1))
    norms = _norms([g for g in grads])
    parameter_results = tuple(
        ParameterGradient(name, norms[i], float(tensor_norm(p)))
        for i, (name, p) in enumerate(trainable)
    )
    offset = len(trainable)
    inputs = {
        name: norms[offset + i] / scale
        for i, (name, _) in enumerate(float_inputs) if norms[offset + i] is not None
    }
    return BackwardResult(per_sample, parameter_results, inputs)


def _norms(grads: Iterable[torch.Tensor | None]) -> list[float | None]:
    values = [None if g is None else tensor_norm(g).double() for g in grads]
    present = [v for v in values if v is not None]
    numbers = iter(torch.stack(present).tolist()) if present else iter(())
    return [None if v is None else next(numbers) for v in values]


def layer_grad_norm(squared: float | None, batch: int) -> float | None:
    return None if squared is None else math.sqrt(max(squared, 0.0)) / math.sqrt(max(batch, 1))


def depth_profile(
    order: Sequence[str],
    grad_norms: dict[str, float | None],
    pool_gains: dict[str, float],
    upstream: dict[str, set[str]],
) -> dict[str, float | None]:
    """grad_norm times the gain of every pooling layer downstream (see module docstring)."""
    profile: dict[str, float | None] = {}
    for name in order:
        norm = grad_norms.get(name)
        if norm is None:
            profile[name] = None
            continue
        factor = 1.0
        for pool, gain in pool_gains.items():
            if name in upstream.get(pool, set()):
                factor *= gain
        profile[name] = norm * factor
    return profile
