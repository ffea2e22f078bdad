"""Dead units, saturation and output statistics on constructed tensors."""
from __future__ import annotations

import math

import pytest
import torch

from gradlint.analysis.probe.forward_stats import ActivationInfo, activation_info, dead_fraction, output_stats
from gradlint.analysis.probe.saturation import saturated_fraction
from gradlint.model import Layer, LayerKind


def test_dead_units_are_zero_for_every_sample_and_position() -> None:
    x = torch.randn(4, 6, 3, 3)
    x[:, [1, 4]] = 0.0
    x[0, 2] = 0.0  # zero for one sample only: alive
    assert float(dead_fraction(x)) == pytest.approx(2 / 6)
    tokens = torch.randn(2, 5, 8)
    tokens[..., :2] = 0
    assert float(dead_fraction(tokens)) == pytest.approx(2 / 8)


def test_stats_ignore_non_finite_values_but_count_them() -> None:
    x = torch.tensor([[1.0, 3.0, float("nan"), float("inf"), 0.0]])
    stats = output_stats(x, ActivationInfo(None, False))
    assert float(stats["mean"]) == pytest.approx(4 / 3)
    assert int(stats["nan_count"]) == 1 and int(stats["inf_count"]) == 1
    assert float(stats["zero_fraction"]) == pytest.approx(1 / 5)


@pytest.mark.parametrize("offset", [0.0, 1e4])
def test_std_of_a_large_output_matches_float64(offset: float) -> None:
    x = torch.randn(4_000_000, generator=torch.Generator().manual_seed(0)) * 1e-2 + offset
    stats = output_stats(x, ActivationInfo(None, False))
    exact = x.double().std(correction=0)
    assert float(stats["std"]) == pytest.approx(float(exact), rel=1e-4)
    assert float(stats["mean"]) == pytest.approx(float(x.double().mean()), rel=1e-6)


def test_chunked_moments_count_zeros_and_non_finite_values_in_any_chunk() -> None:
    x = torch.randn(3, 2**18 + 5, generator=torch.Generator().manual_seed(1))
    x[:, ::7] = 0.0
    stats = output_stats(x, ActivationInfo(None, False))
    assert float(stats["zero_fraction"]) == pytest.approx(float((x == 0).double().mean()), abs=1e-12)
    assert float(stats["std"]) == pytest.approx(float(x.double().std(correction=0)), rel=1e-5)
    x[2, -1] = float("nan")  # in the last chunk only
    stats = output_stats(x, ActivationInfo(None, False))
    assert int(stats["nan_count"]) == 1
    assert float(stats["mean"]) == pytest.approx(float(x[torch.isfinite(x)].double().mean()), rel=1e-6)


def test_finite_values_whose_squares_overflow_still_get_a_std() -> None:
    x = torch.tensor([1e20, -1e20, 3e20, 0.0])
    stats = output_stats(x, ActivationInfo(None, False))
    assert int(stats["inf_count"]) == 0
    assert float(stats["std"]) == pytest.approx(float(x.double().std(correction=0)), rel=1e-5)


def test_a_unit_with_both_signs_is_alive_and_a_nan_unit_is_not_dead() -> None:
    x = torch.zeros(3, 4)
    x[0, 1], x[1, 1] = -1.0, 1.0
    x[2, 2] = float("nan")
    assert float(dead_fraction(x)) == pytest.approx(2 / 4)


@pytest.mark.parametrize("activated", [False, True])
def test_tanh_and_sigmoid_saturation_bounds(activated: bool) -> None:
    z = torch.tensor([-5.0, -2.5, -1.0, 0.0, 1.9, 2.1, 3.0, 4.5])
    tanh = saturated_fraction(torch.tanh(z) if activated else z, "tanh", activated)
    assert float(tanh) == pytest.approx(5 / 8)  # |z| >= 2
    sigmoid = saturated_fraction(torch.sigmoid(z) if activated else z, "sigmoid", activated)
    assert float(sigmoid) == pytest.approx(2 / 8)  # |z| >= 4


def test_clipped_and_hard_activations() -> None:
    z = torch.tensor([-8.0, -1.0, 2.0, 5.0, 7.0, 9.0])
    assert float(saturated_fraction(z.clamp(0, 6), "relu6", True)) == pytest.approx(2 / 6)
    assert float(saturated_fraction(z, "relu6", False)) == pytest.approx(2 / 6)
    both_sides = torch.tensor([-8.0, -5.0, -1.0, 2.0, 7.0, 9.0]).clamp(-3, 3)
    assert float(saturated_fraction(both_sides, "clip", True)) == pytest.approx(4 / 6)
    hard = torch.nn.functional.hardsigmoid(z)
    assert float(saturated_fraction(hard, "hardsigmoid", True)) == pytest.approx(4 / 6)


def test_softmax_rows_with_a_dominant_probability() -> None:
    logits = torch.tensor([[10.0, 0.0, 0.0], [1.0, 0.5, 0.0]])
    assert float(saturated_fraction(logits, "softmax", False)) == pytest.approx(0.5)
    assert saturated_fraction(logits, "relu", True) is None


def test_activation_info_tells_output_from_pre_activation() -> None:
    fused = Layer("conv", LayerKind.CONV, op_types=("Conv", "Tanh"), activation="tanh")
    assert activation_info(fused) == ActivationInfo("tanh", True, 1)
    before = Layer("fc", LayerKind.LINEAR, op_types=("Linear",), activation="tanh")
    assert not activation_info(before).activated
    module = Layer("act", LayerKind.OTHER, op_types=("Sigmoid",), activation="sigmoid")
    assert activation_info(module).activated
    clip = Layer("c", LayerKind.CONV, op_types=("Conv", "Clip"), activation="relu6")
    assert activation_info(clip).activated
    assert activation_info(None) == ActivationInfo(None, False)
    assert math.isclose(float(output_stats(torch.ones(2, 2), activation_info(before))["std"]), 0.0)
