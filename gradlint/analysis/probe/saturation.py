"""Where an activation stops passing gradient: the saturation bounds gradlint uses.

A unit is *saturated* when its pre-activation z lies where the activation's derivative has
fallen to almost nothing, so gradient through it vanishes however large the upstream signal:

| activation   | saturated when (pre-activation z)    | same test on the output y            |
|--------------|--------------------------------------|--------------------------------------|
| tanh         | abs(z) >= 2   (tanh' <= 7.1% of peak)  | abs(y) >= tanh(2) = 0.964              |
| sigmoid      | abs(z) >= 4   (sigmoid' <= 7.1% of peak) | y <= sigmoid(-4) or y >= sigmoid(4)  |
| hardsigmoid  | abs(z) >= 3   (flat: derivative 0)     | y <= 0 or y >= 1                     |
| relu6        | z >= 6        (flat top)               | y >= 6                               |
| hardtanh     | abs(z) >= 1   (flat: derivative 0)     | y at the clip value (below)          |
| clip         | bounds unknown from the name         | y equal to its max (or a non-zero min) attained by two or more units: clipped values pile up on the bound |
| softmax      | rows whose top probability >= 0.99 (the Jacobian diag(p) - ppᵀ is then below 0.01 everywhere), over the last axis |

tanh and sigmoid share one criterion (sigmoid(z) = (1 + tanh(z/2)) / 2): the derivative is
below 7.1% of its maximum. Zeros of ReLU-like functions (and a clip at 0) are *dead*, not
saturated, and are counted by the dead and zero fractions instead. Other activations (ReLU,
GELU, SiLU, ...) do not saturate: None.
"""
from __future__ import annotations

import math

import torch

TANH_BOUND = 2.0
SIGMOID_BOUND = 4.0
SOFTMAX_PEAK = 0.99
_HARD_SIGMOID_BOUND = 3.0

_ALIASES = {"hard_sigmoid": "hardsigmoid", "logistic": "sigmoid", "relu_6": "relu6", "hard_tanh": "hardtanh"}
SATURATING = frozenset({"tanh", "sigmoid", "hardsigmoid", "relu6", "hardtanh", "clip", "softmax"})


def canonical(name: str | None) -> str | None:
    if not name:
        return None
    key = name.lower().replace("-", "_")
    return _ALIASES.get(key, key)


def saturated_fraction(values: torch.Tensor, activation: str | None, activated: bool) -> torch.Tensor | None:
    """Fraction of saturated units (softmax: rows); `activated`: values are y, else z."""
    name = canonical(activation)
    if name not in SATURATING or values.numel() == 0:
        return None
    x = values.detach()
    if name == "softmax":
        probabilities = x if activated else torch.softmax(x.float(), dim=-1)
        return (probabilities.amax(dim=-1) >= SOFTMAX_PEAK).float().mean()
    if activated:
        mask = _saturated_output(x, name)
    else:
        mask = _saturated_input(x, name)
    return None if mask is None else mask.float().mean()


def _saturated_input(z: torch.Tensor, name: str) -> torch.Tensor | None:
    if name == "tanh":
        return z.abs() >= TANH_BOUND
    if name == "sigmoid":
        return z.abs() >= SIGMOID_BOUND
    if name == "hardsigmoid":
        return z.abs() >= _HARD_SIGMOID_BOUND
    if name == "relu6":
        return z >= 6
    if name == "hardtanh":
        return z.abs() >= 1
    return None


def _saturated_output(y: torch.Tensor, name: str) -> torch.Tensor | None:
    if name == "tanh":
        return y.abs() >= math.tanh(TANH_BOUND)
    if name == "sigmoid":
        low = 1.0 / (1.0 + math.exp(SIGMOID_BOUND))
        return (y <= low) | (y >= 1.0 - low)
    if name == "hardsigmoid":
        return (y <= 0) | (y >= 1)
    if name == "relu6":
        return y >= 6
    return _piled_on_bounds(y)


def _piled_on_bounds(y: torch.Tensor) -> torch.Tensor:
    """Units at the output's max (or non-zero min) when two or more share it: clipped ones."""
    flat = y.reshape(-1)
    mask = torch.zeros_like(flat, dtype=torch.bool)
    for bound in (flat.max(), flat.min()):
        at_bound = flat == bound
        if bool(at_bound.sum() >= 2) and bool(bound != 0):
            mask |= at_bound
    return mask.reshape(y.shape)
