"""Jacobian structure from a few products: diagonal, block axes, sample-independent blocks."""
from __future__ import annotations

import torch
from torch import nn

from gradlint.analysis.probe.jacobian import forward_jvp
from gradlint.analysis.probe.structure import detect_structure


def _structure(function, *inputs):
    inputs = tuple(x.double() for x in inputs)
    product = lambda tangents: forward_jvp(function, inputs, tangents)
    with torch.no_grad():
        output = function(*inputs)
    return detect_structure(product, inputs, output, torch.Generator().manual_seed(0))


def test_elementwise_layers_are_diagonal() -> None:
    found = _structure(torch.tanh, torch.randn(3, 4, 5))
    assert found.diagonal and found.block_axes == (0, 1, 2)
    assert _structure(torch.add, torch.randn(2, 3), torch.randn(2, 3)).diagonal


def test_convolution_is_per_sample_and_the_same_for_every_sample() -> None:
    torch.manual_seed(0)
    conv = nn.Conv2d(2, 3, 3, padding=1).double()
    found = _structure(conv, torch.randn(4, 2, 5, 5))
    assert not found.diagonal
    assert found.block_axes == (0,) and found.constant_axes == (0,)


def test_linear_on_tokens_is_constant_along_batch_and_tokens() -> None:
    torch.manual_seed(0)
    found = _structure(nn.Linear(4, 4).double(), torch.randn(2, 3, 4))
    assert found.block_axes == (0, 1) and found.constant_axes == (0, 1)


def test_batch_statistics_couple_samples_but_not_channels() -> None:
    norm = nn.BatchNorm2d(3, track_running_stats=False).double()
    found = _structure(norm, torch.randn(4, 3, 2, 2))
    assert found.block_axes == (1,) and found.constant_axes == ()


def test_layer_norm_blocks_per_token_and_depends_on_the_input() -> None:
    found = _structure(nn.LayerNorm(5).double(), torch.randn(2, 3, 5))
    assert found.block_axes == (0, 1) and found.constant_axes == ()


def test_softmax_over_the_last_axis_is_not_diagonal() -> None:
    found = _structure(lambda x: torch.softmax(x, -1), torch.randn(2, 6))
    assert not found.diagonal and found.block_axes == (0,) and found.constant_axes == ()


def test_a_layer_that_answers_zero_everywhere_gets_no_structure() -> None:
    found = _structure(lambda x: torch.relu(-x.abs()), torch.randn(3, 4))
    assert found.block_axes == () and not found.diagonal
