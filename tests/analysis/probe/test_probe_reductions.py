from __future__ import annotations

import torch

from gradlint.analysis.probe.capture import tensor_norm
from gradlint.analysis.probe.reductions import CHUNK, chunks, count_nonzero, sum_of_squares


def test_a_long_float32_sum_of_squares_stays_accurate() -> None:
    """A whole-tensor float32 norm is 1e-3 low at this length; chunks keep 1e-6."""
    x = torch.randn(2**24, generator=torch.Generator().manual_seed(0))
    exact = float(x.double().square().sum())
    assert abs(float(sum_of_squares(x)) / exact - 1) < 1e-6
    assert abs(float(tensor_norm(x)) ** 2 / exact - 1) < 1e-6


def test_zero_counts_are_exact_across_chunks() -> None:
    x = torch.randn(3 * CHUNK + 17, generator=torch.Generator().manual_seed(1)).clamp_min(0)
    assert len(chunks(x)) == 4
    assert int(count_nonzero(x)) == int((x != 0).sum())
    transposed = x[: 2 * CHUNK].reshape(512, -1).t()  # not contiguous
    assert int(count_nonzero(transposed)) == int((transposed != 0).sum())


def test_small_and_float64_tensors_reduce_whole() -> None:
    x = torch.arange(10, dtype=torch.float64)
    assert len(chunks(x)) == 1
    assert float(sum_of_squares(x)) == sum(v * v for v in range(10))
    assert float(tensor_norm(torch.empty(0))) == 0.0
