"""Mean-field signal propagation for one activation (Poole et al. 2016; Schoenholz et al. 2017).

For a layer z' = W phi(z) + b with W_ij ~ (0, sigma_w^2 / fan_in), in the wide limit:

    q'  = sigma_w^2 * E_{z~N(0,q)}[phi(z)^2] + sigma_b^2      (forward variance map)
    chi = sigma_w^2 * E_{z~N(0,q)}[phi'(z)^2]                  (backward gain per layer)

chi is the factor by which the squared gradient norm grows from one layer to the one below it:
chi > 1 explodes, chi < 1 vanishes, chi = 1 is criticality (He init for ReLU: sigma_w^2 = 2,
E[phi'^2] = 1/2). Expectations use the midpoint rule on a grid of step 1e-3 over +-12
standard deviations, with z = 0 on a cell boundary: several activations (SELU, leaky ReLU,
ReLU6, hard sigmoid) have jumps in phi', which spoil Gauss-Hermite quadrature; a jump at 0
costs this rule nothing, one elsewhere O(step) ~ 1e-4 relative.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Callable

import numpy as np
import torch

Elementwise = Callable[[np.ndarray], np.ndarray]

_SELU_ALPHA = 1.6732632423543772
_SELU_SCALE = 1.0507009873554805


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * z))


def _normal_cdf(z: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + torch.erf(torch.from_numpy(np.asarray(z, dtype=float) / math.sqrt(2.0))).numpy())


def _normal_pdf(z: np.ndarray) -> np.ndarray:
    return np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)


# name -> (phi, phi')
ACTIVATIONS: dict[str, tuple[Elementwise, Elementwise]] = {
    "identity": (lambda z: z, lambda z: np.ones_like(z)),
    "relu": (lambda z: np.maximum(z, 0.0), lambda z: (z > 0).astype(float)),
    "leaky_relu": (lambda z: np.where(z > 0, z, 0.01 * z), lambda z: np.where(z > 0, 1.0, 0.01)),
    "relu6": (lambda z: np.clip(z, 0.0, 6.0), lambda z: ((z > 0) & (z < 6)).astype(float)),
    "elu": (lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, 0))), lambda z: np.where(z > 0, 1.0, np.exp(np.minimum(z, 0)))),
    "selu": (
        lambda z: _SELU_SCALE * np.where(z > 0, z, _SELU_ALPHA * np.expm1(np.minimum(z, 0))),
        lambda z: _SELU_SCALE * np.where(z > 0, 1.0, _SELU_ALPHA * np.exp(np.minimum(z, 0))),
    ),
    "tanh": (np.tanh, lambda z: 1.0 - np.tanh(z) ** 2),
    "sigmoid": (_sigmoid, lambda z: _sigmoid(z) * (1.0 - _sigmoid(z))),
    "hardsigmoid": (lambda z: np.clip(z / 6.0 + 0.5, 0, 1), lambda z: ((z > -3) & (z < 3)) / 6.0),
    "hardswish": (
        lambda z: z * np.clip(z / 6.0 + 0.5, 0, 1),
        lambda z: np.where(z <= -3, 0.0, np.where(z >= 3, 1.0, z / 3.0 + 0.5)),
    ),
    "softplus": (lambda z: np.logaddexp(0.0, z), _sigmoid),
    "silu": (lambda z: z * _sigmoid(z), lambda z: _sigmoid(z) * (1 + z * (1 - _sigmoid(z)))),
    "gelu": (lambda z: z * _normal_cdf(z), lambda z: _normal_cdf(z) + z * _normal_pdf(z)),
}

ALIASES = {
    "linear": "identity",
    "none": "identity",
    "leakyrelu": "leaky_relu",
    "hard_sigmoid": "hardsigmoid",
    "hard_swish": "hardswish",
    "swish": "silu",
    "clip": "relu6",
    "hardtanh": "identity",  # linear on its responsive range
    "gelu_tanh": "gelu",
    "mish": "silu",  # close enough for a gain estimate
}


def canonical_activation(name: str | None) -> str | None:
    """The ACTIVATIONS key for a loader's activation name, or None when unknown."""
    if name is None:
        return "identity"
    key = name.lower().replace("-", "_")
    key = ALIASES.get(key, key)
    return key if key in ACTIVATIONS else None


@lru_cache(maxsize=1)
def _standard_normal_grid() -> tuple[np.ndarray, np.ndarray]:
    step = 1e-3
    nodes = np.arange(-12.0 + step / 2, 12.0, step)  # midpoint rule: z = 0 is a cell boundary
    weights = step * np.exp(-0.5 * nodes**2) / math.sqrt(2 * math.pi)
    return nodes, weights


def gaussian_expectation(function: Elementwise, variance: float) -> float:
    """E_{z ~ N(0, variance)}[function(z)]."""
    nodes, weights = _standard_normal_grid()
    return float(np.sum(weights * function(nodes * math.sqrt(max(variance, 0.0)))))


@dataclass(frozen=True)
class LayerGain:
    """The mean-field prediction for one layer: input variance q_in -> q_out, and chi."""

    pre_activation_variance: float
    derivative_moment: float  # E[phi'(z)^2]
    output_second_moment: float  # E[phi(z)^2]
    chi: float


def layer_gain(activation: str, weight_variance_fan_in: float, pre_activation_variance: float) -> LayerGain:
    """chi for a layer whose pre-activation variance is q and whose sigma_w^2 = std^2 * fan_in."""
    phi, derivative = ACTIVATIONS[activation]
    derivative_moment = gaussian_expectation(lambda z: derivative(z) ** 2, pre_activation_variance)
    second_moment = gaussian_expectation(lambda z: phi(z) ** 2, pre_activation_variance)
    return LayerGain(
        pre_activation_variance=pre_activation_variance,
        derivative_moment=derivative_moment,
        output_second_moment=second_moment,
        chi=weight_variance_fan_in * derivative_moment,
    )
