"""weight_stats: the numbers init-scale rules compare against He/Glorot."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from gradlint.loaders.onnx.weights import weight_stats


def test_he_initialised_weight_has_scaled_std_near_sqrt2() -> None:
    fan_in = 256
    weight = np.random.default_rng(0).normal(0, math.sqrt(2 / fan_in), (512, fan_in)).astype(np.float32)
    stats = weight_stats(weight, fan_in)
    assert stats.shape == (512, fan_in)
    assert stats.scaled_std == pytest.approx(math.sqrt(2), rel=0.01)
    assert stats.std == pytest.approx(math.sqrt(2 / fan_in), rel=0.01)
    assert abs(stats.mean) < 0.01 and stats.finite and stats.zero_fraction == 0.0


def test_constant_weight_has_zero_std_exactly() -> None:
    stats = weight_stats(np.full((64, 3, 7, 7), 0.02, np.float32), fan_in=147)
    assert stats.std == 0.0 and stats.scaled_std == 0.0
    assert stats.mean == pytest.approx(0.02) and stats.abs_max == pytest.approx(0.02)


def test_zero_fraction_abs_max_and_torch_input() -> None:
    weight = torch.tensor([[0.0, -3.0], [0.0, 1.0]], dtype=torch.float16)
    stats = weight_stats(weight, fan_in=2)
    assert stats.zero_fraction == 0.5 and stats.abs_max == 3.0
    assert stats.scaled_std == pytest.approx(stats.std * math.sqrt(2))


def test_non_finite_entries_are_flagged_and_skipped() -> None:
    stats = weight_stats(np.array([1.0, np.nan, 3.0, np.inf], np.float32), fan_in=4)
    assert not stats.finite
    assert stats.mean == pytest.approx(2.0) and stats.abs_max == 3.0


def test_all_non_finite_gives_nan_stats() -> None:
    stats = weight_stats(np.array([np.nan, np.nan]), fan_in=2)
    assert not stats.finite and math.isnan(stats.std)


def test_no_fan_in_leaves_std_unscaled() -> None:
    stats = weight_stats(np.array([1.0, -1.0]), fan_in=None)
    assert stats.scaled_std == stats.std == 1.0


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_blockwise_std_matches_numpy(dtype: type) -> None:
    weight = (np.random.default_rng(1).normal(0.3, 0.05, 3 * (1 << 16) + 17)).astype(dtype)
    stats = weight_stats(weight, fan_in=None)
    assert stats.std == pytest.approx(float(weight.std(dtype=np.float64)), rel=1e-12)
    assert stats.mean == float(weight.mean(dtype=np.float64))
