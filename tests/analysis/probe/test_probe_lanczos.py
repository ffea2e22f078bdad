"""The Krylov iteration: exact answers on small operators, per-block maxima, honest caps."""
from __future__ import annotations

import torch

from gradlint.analysis.probe.blocks import Blocks
from gradlint.analysis.probe.lanczos import top_singular_value


def _matrix_gram(matrices: torch.Tensor):
    """JᵀJ for a batch of matrices J[b] acting on vectors x[b] (blocks along axis 0)."""
    def product(v):
        (x,) = v
        y = torch.einsum("bij,bj->bi", matrices, x)
        return (torch.einsum("bij,bi->bj", matrices, y),)
    return product


def _start(shape, seed=0):
    return (torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64),)


def test_the_max_over_blocks_matches_svd_and_every_block_is_a_lower_bound() -> None:
    torch.manual_seed(0)
    matrices = torch.randn(5, 30, 20, dtype=torch.float64) * torch.arange(1, 6).reshape(5, 1, 1)
    start = _start((5, 20))
    estimate = top_singular_value(_matrix_gram(matrices), start, Blocks.along(start, [0]), 1e-6, 100)
    exact = torch.linalg.matrix_norm(matrices, ord=2)
    assert estimate.converged
    assert bool((estimate.per_block <= exact * (1 + 1e-9)).all())
    assert abs(estimate.sigma_max - float(exact.max())) <= 1e-5 * float(exact.max())


def test_small_operator_is_exact_when_the_krylov_space_is_exhausted() -> None:
    matrix = torch.diag(torch.tensor([3.0, 1.0, 0.5], dtype=torch.float64)).unsqueeze(0)
    start = _start((1, 3))
    estimate = top_singular_value(_matrix_gram(matrix), start, Blocks.single(1), 1e-12, 50)
    assert estimate.converged and estimate.iterations <= 4
    assert abs(estimate.sigma_max - 3.0) < 1e-9


def test_cap_reports_not_converged_with_a_lower_bound() -> None:
    torch.manual_seed(1)
    matrix = torch.randn(1, 400, 400, dtype=torch.float64)
    start = _start((1, 400))
    estimate = top_singular_value(_matrix_gram(matrix), start, Blocks.single(1), 1e-12, 3)
    exact = float(torch.linalg.matrix_norm(matrix[0], ord=2))
    assert not estimate.converged and estimate.iterations == 3
    assert estimate.sigma_max <= exact * (1 + 1e-9)


def test_zero_operator_gives_zero() -> None:
    start = _start((2, 4))
    estimate = top_singular_value(lambda v: tuple(torch.zeros_like(x) for x in v), start, Blocks.along(start, [0]))
    assert estimate.sigma_max == 0.0 and estimate.converged


def test_blocks_dot_and_scale_respect_axis_order() -> None:
    a = torch.randn(3, 2, 4, dtype=torch.float64)
    blocks = Blocks((tuple([2, 0]),), (4, 3))
    dots = blocks.dot((a,), (a,))
    expected = (a * a).sum(dim=1).T.reshape(-1)  # block index = i2 * 3 + i0
    torch.testing.assert_close(dots, expected)
    (scaled,) = blocks.scale((a,), dots.rsqrt())
    norms = scaled.pow(2).sum(dim=1)
    torch.testing.assert_close(norms, torch.ones_like(norms))


def test_stops_on_the_maximum_before_the_lower_blocks_settle() -> None:
    """Many blocks, one clearly on top: the reported maximum settles in far fewer products
    than it takes every block to settle."""
    torch.manual_seed(2)
    matrices = torch.randn(200, 64, 64, dtype=torch.float64)
    matrices[7] *= 3
    start = _start((200, 64))
    estimate = top_singular_value(_matrix_gram(matrices), start, Blocks.along(start, [0]), 1e-3, 64)
    exact = float(torch.linalg.matrix_norm(matrices, ord=2).max())
    assert estimate.converged and estimate.iterations <= 15  # every-block stopping took 20
    assert exact * (1 - 1e-3) <= estimate.sigma_max <= exact * (1 + 1e-9)
