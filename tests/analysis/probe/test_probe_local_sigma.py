"""Which part of a layer's Jacobian `layer_sigma` solves, and that it is solved exactly there."""
from __future__ import annotations

import pytest
import torch

from gradlint.analysis.probe.capture import LayerRecord
from gradlint.analysis.probe.local_sigma import SigmaSettings, layer_sigma
from gradlint.analysis.probe.structure import Structure

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


HEADS, HEAD_WIDTH = 2, 3


@pytest.mark.parametrize("head_width", [HEAD_WIDTH, 2])  # wider than the input (jvps), narrower (vjps)
def test_a_linear_layer_that_moves_heads_before_tokens_is_solved_once_from_its_block(head_width: int) -> None:
    """Rows [batch * tokens, features] in, [batch, heads, tokens, head width] out, through a
    reshape that fixes the token count (GPT-2's c_attn in a dynamic-batch export): the row
    axis is found under the transpose, every row shares one block, and that block is read
    off from one sample's rows instead of solved by Lanczos on them."""
    generator = torch.Generator().manual_seed(2)
    weight = torch.randn(FEATURES, HEADS * head_width, generator=generator, dtype=torch.float64)
    x = torch.randn(BATCH * TOKENS, FEATURES, generator=generator, dtype=torch.float64)
    seen: list[int] = []

    def c_attn(rows: torch.Tensor) -> torch.Tensor:
        seen.append(rows.shape[0])
        return (rows @ weight).reshape(-1, TOKENS, HEADS, head_width).transpose(1, 2)

    record = LayerRecord("c_attn", 0, (x,), (0,), c_attn(x))
    result = layer_sigma(record, c_attn, SigmaSettings(1e-9, 64, samples=1, batch=BATCH), generator)
    assert result is not None and result.method == "constant" and result.converged
    assert result.sigma_max == pytest.approx(float(torch.linalg.matrix_norm(weight, ord=2)), rel=1e-9)
    assert seen[-1] == TOKENS


def test_a_nonlinear_layer_under_the_same_reshape_is_still_solved_per_token() -> None:
    generator = torch.Generator().manual_seed(3)
    weight = torch.randn(FEATURES, HEADS * HEAD_WIDTH, generator=generator, dtype=torch.float64)
    x = torch.randn(BATCH * TOKENS, FEATURES, generator=generator, dtype=torch.float64)

    def layer(rows: torch.Tensor) -> torch.Tensor:
        return torch.tanh(rows @ weight).reshape(-1, TOKENS, HEADS, HEAD_WIDTH).transpose(1, 2)

    record = LayerRecord("mlp", 0, (x,), (0,), layer(x))
    result = layer_sigma(record, layer, SigmaSettings(1e-9, 64, samples=1, batch=BATCH), generator)
    assert result is not None and result.method == "lanczos" and result.blocks == TOKENS
    first = x[:TOKENS]
    jacobian = torch.autograd.functional.jacobian(lambda r: torch.tanh(r @ weight), first)
    exact = torch.linalg.matrix_norm(jacobian.reshape(first.shape[0] * HEADS * HEAD_WIDTH, first.numel()), ord=2)
    assert result.sigma_max == pytest.approx(float(exact), rel=1e-6)


def test_an_elementwise_layer_is_read_off_the_first_samples_only() -> None:
    """tanh' peaks at 0: the second sample holds the entry nearest zero, so the whole batch
    reads a larger value than the first sample alone, and each setting must give its own."""
    x = torch.full((BATCH, FEATURES), 2.0, dtype=torch.float64)
    x[0, 3] = 1.0
    x[1, 2] = 0.1
    seen: list[int] = []

    def layer(values: torch.Tensor) -> torch.Tensor:
        seen.append(values.shape[0])
        return torch.tanh(values)

    record = LayerRecord("tanh", 0, (x,), (0,), layer(x))
    first = layer_sigma(record, layer, SigmaSettings(1e-9, 64, samples=1), torch.Generator().manual_seed(0))
    assert first is not None and first.method == "diagonal"
    assert first.sigma_max == pytest.approx(1 - float(torch.tanh(torch.tensor(1.0, dtype=torch.float64))) ** 2, rel=1e-9)
    assert seen[-1] == 1 and first.blocks == FEATURES
    whole = layer_sigma(record, layer, SigmaSettings(1e-9, 64), torch.Generator().manual_seed(0))
    assert whole.sigma_max == pytest.approx(1 - float(torch.tanh(torch.tensor(0.1, dtype=torch.float64))) ** 2, rel=1e-9)
    assert whole.blocks == BATCH * FEATURES


def test_layers_with_one_signature_share_one_structure_test() -> None:
    """The first layer's tested structure is stored under its signature and reused as is: a
    stored 'no structure' turns the next elementwise layer into a whole Lanczos solve (with
    the same answer), which proves no second test ran."""
    x = torch.randn(BATCH, FEATURES, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    record = LayerRecord("tanh", 0, (x,), (0,), torch.tanh(x))
    settings = SigmaSettings(1e-9, 64, samples=1)
    structures: dict = {}
    first = layer_sigma(record, torch.tanh, settings, torch.Generator().manual_seed(0), structures, "tanh-8x5")
    assert first.method == "diagonal" and structures["tanh-8x5"].diagonal
    structures["tanh-8x5"] = Structure()
    second = layer_sigma(record, torch.tanh, settings, torch.Generator().manual_seed(0), structures, "tanh-8x5")
    assert second.method == "lanczos" and second.blocks == 1
    assert second.sigma_max == pytest.approx(float((1 - torch.tanh(x) ** 2).abs().max()), rel=1e-6)
    unsigned = layer_sigma(record, torch.tanh, settings, torch.Generator().manual_seed(0), structures, None)
    assert unsigned.method == "diagonal"
