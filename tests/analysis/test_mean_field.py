from __future__ import annotations

import math

import numpy
import pytest
import torch

from gradlint.analysis.mean_field import ACTIVATIONS, canonical_activation, gaussian_expectation, layer_gain


def test_he_init_is_critical_for_relu() -> None:
    assert layer_gain("relu", 2.0, 1.0).chi == pytest.approx(1.0, abs=1e-9)
    assert layer_gain("relu", 2.0, 7.3).chi == pytest.approx(1.0, abs=1e-9)  # scale-free


def test_sigmoid_vanishes_and_chaotic_tanh_explodes() -> None:
    assert layer_gain("sigmoid", 1.0, 1.0).chi < 0.05
    # sigma_w = 2.5 with tanh: the ordered/chaotic boundary is crossed, chi > 1 at the fixed point
    q = 1.0
    for _ in range(50):
        q = 6.25 * gaussian_expectation(lambda z: numpy.tanh(z) ** 2, q)
    assert layer_gain("tanh", 6.25, q).chi > 1.0


@pytest.mark.parametrize("name", sorted(ACTIVATIONS))
def test_derivative_moment_matches_monte_carlo_with_torch_autograd(name: str) -> None:
    torch_functions = {
        "identity": lambda z: z, "relu": torch.relu, "leaky_relu": torch.nn.functional.leaky_relu,
        "relu6": torch.nn.functional.relu6, "elu": torch.nn.functional.elu, "selu": torch.selu,
        "tanh": torch.tanh, "sigmoid": torch.sigmoid, "hardsigmoid": torch.nn.functional.hardsigmoid,
        "hardswish": torch.nn.functional.hardswish, "softplus": torch.nn.functional.softplus,
        "silu": torch.nn.functional.silu, "gelu": torch.nn.functional.gelu,
    }
    generator = torch.Generator().manual_seed(0)
    z = (torch.randn(400_000, generator=generator, dtype=torch.float64) * math.sqrt(1.7)).requires_grad_()
    output = torch_functions[name](z)
    (derivative,) = torch.autograd.grad(output.sum(), z)
    expected = layer_gain(name, 1.0, 1.7)
    assert expected.derivative_moment == pytest.approx(float((derivative**2).mean()), rel=0.02, abs=1e-4)
    assert expected.output_second_moment == pytest.approx(float((output.detach() ** 2).mean()), rel=0.02)


def test_aliases() -> None:
    assert canonical_activation(None) == "identity"
    assert canonical_activation("Swish") == "silu"
    assert canonical_activation("frobnicate") is None
