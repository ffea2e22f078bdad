"""Which part of a layer's Jacobian `layer_sigma` solves, and that it is solved exactly there."""
from __future__ import annotations

import pytest
import torch

from gradlint.analysis.probe.capture import LayerRecord
from gradlint.analysis.probe.local_sigma import SigmaSettings, layer_sigma

BATCH, TOKENS, FEATURES, OUT = 8, 4, 5, 6


def _flattened_layer(weight: torch.Tensor, seen: list[int]):
    """tanh(x W) on [batch * tokens, features] rows, regrouped to [batch, tokens, out] by a
    reshape that fixes the token count (as a dynamic-batch ONNX export of a transformer MLP)."""

    def layer(x: torch.Tensor) -> torch.Tensor:
        seen.append(x.shape[0])
        return torch.tanh(x @ weight).reshape(-1, TOKENS, OUT)

    return layer


def _exact(weight: torch.Tensor, rows: torch.Tensor) -> float:
    jacobian = torch.autograd.functional.jacobian(lambda x: torch.tanh(x @ weight), rows)
    return float(torch.linalg.matrix_norm(jacobian.reshape(rows.numel() // FEATURES * OUT, rows.numel()), ord=2))


def test_rows_of_the_first_sample_are_solved_when_tokens_are_flattened_with_the_batch() -> None:
    generator = torch.Generator().manual_seed(0)
    weight = torch.randn(FEATURES, OUT, generator=generator, dtype=torch.float64)
    x = torch.randn(BATCH * TOKENS, FEATURES, generator=generator, dtype=torch.float64)
    seen: list[int] = []
    layer = _flattened_layer(weight, seen)
    record = LayerRecord("mlp", 0, (x,), (0,), layer(x))
    result = layer_sigma(record, layer, SigmaSettings(1e-9, 64, samples=1, batch=BATCH), generator)
    assert result is not None and result.converged
    assert result.sigma_max == pytest.approx(_exact(weight, x[:TOKENS]), rel=1e-6)
    assert seen[-1] == TOKENS  # the products ran on the first sample's rows only
    whole = layer_sigma(record, layer, SigmaSettings(1e-9, 64), torch.Generator().manual_seed(0))
    assert whole.sigma_max == pytest.approx(_exact(weight, x), rel=1e-6)
    assert whole.sigma_max > result.sigma_max


def test_rows_that_depend_on_other_samples_keep_the_whole_call() -> None:
    """Centring over all rows couples the samples: the first sample's rows alone give other
    outputs, so nothing is cut."""
    generator = torch.Generator().manual_seed(1)
    x = torch.randn(BATCH * TOKENS, FEATURES, generator=generator, dtype=torch.float64)
    seen: list[int] = []

    def coupled(rows: torch.Tensor) -> torch.Tensor:
        seen.append(rows.shape[0])
        return (rows - rows.mean(dim=0)).reshape(-1, TOKENS, FEATURES)

    record = LayerRecord("centre", 0, (x,), (0,), coupled(x))
    result = layer_sigma(record, coupled, SigmaSettings(1e-9, 64, samples=1, batch=BATCH), generator)
    assert result is not None and result.sigma_max == pytest.approx(1.0, rel=1e-6)
    assert seen[-1] == BATCH * TOKENS
