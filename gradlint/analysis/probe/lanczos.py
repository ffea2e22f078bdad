"""The largest eigenvalue of a Gram operator JᵀJ, for every block at once.

This is power iteration on JᵀJ in which the estimate is read from the whole Krylov space the
iterates span (the Lanczos process) instead of from the last iterate alone: same products,
same memory (three vectors), but a random start reaches a relative accuracy of 1e-3 in a few
products even when the top of the spectrum is crowded, where the plain power iterate's
Rayleigh quotient creeps up for hundreds. In exact arithmetic every estimate is a lower bound
that only rises, and stays below the true value in floating point too (Paige), so a
converged estimate never overshoots.

Stopping: on the reported value, the largest estimate over the blocks. The iteration ends when
that maximum moved by less than `tolerance` relative over each of the last two products
(`converged`), when every block's Krylov space became invariant (exact), or at
`max_iterations` (not converged; the estimates are lower bounds). Two products, not one: a
single small step also happens on the short plateaus Lanczos shows when the top of the
spectrum is a dense cluster. Judging the maximum rather than every block is what makes
many-block layers cheap: a 1x1 convolution's Jacobian has one block per pixel (784-3136 in
ResNet-50), and waiting for every pixel's estimate to settle took twice the products for a
maximum that had settled to 1e-4 long before. The per-block estimates are therefore lower
bounds, not converged values. Measured on every local Jacobian of ResNet-50 (ONNX): the
error against 80 products stayed under 6e-3 while the products per layer fell from 23 to
about 15; the accuracy tests hold it within 1% of an exact SVD.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from gradlint.analysis.probe.blocks import Blocks, Vector

DEFAULT_TOLERANCE = 1e-3
DEFAULT_MAX_ITERATIONS = 64

GramProduct = Callable[[Vector], Vector]


@dataclass(frozen=True)
class SpectralEstimate:
    """sigma_max over all blocks; `per_block` holds each block's estimate (CPU, float64)."""

    sigma_max: float
    iterations: int
    converged: bool
    per_block: torch.Tensor


def top_singular_value(
    gram: GramProduct,
    start: Vector,
    blocks: Blocks,
    tolerance: float = DEFAULT_TOLERANCE,
    max_iterations: int = DEFAULT_MAX_ITERATIONS,
) -> SpectralEstimate:
    """sqrt(lambda_max(JᵀJ)) per block by Lanczos from `start` (a random vector)."""
    state = _Lanczos(blocks, start)
    history: list[float] = []
    sigma = torch.zeros(blocks.count, dtype=torch.float64)
    for iteration in range(1, max_iterations + 1):
        theta = state.step(gram)
        sigma = theta.clamp_min(0).sqrt()
        history.append(float(sigma.max()))
        if state.exhausted() or _settled(history, tolerance):
            return _estimate(sigma, iteration, True)
    return _estimate(sigma, max_iterations, False)


def _settled(history: list[float], tolerance: float) -> bool:
    if len(history) < 3:
        return False
    latest = history[-1]
    steps = (history[-1] - history[-2], history[-2] - history[-3])
    return all(abs(step) <= tolerance * latest for step in steps)


def _estimate(sigma: torch.Tensor, iterations: int, converged: bool) -> SpectralEstimate:
    per_block = sigma.detach().to("cpu", torch.float64)
    return SpectralEstimate(float(per_block.max()), iterations, converged, per_block)


class _Lanczos:
    """Three-term recurrence per block with local reorthogonalisation; T kept on the CPU."""

    def __init__(self, blocks: Blocks, start: Vector) -> None:
        self.blocks = blocks
        norm = blocks.norm(start)
        self.q = blocks.scale(start, _safe_inverse(norm))
        self.q_previous: Vector | None = None
        self.beta_previous = torch.zeros_like(norm)
        self.alphas: list[torch.Tensor] = []
        self.betas: list[torch.Tensor] = []
        self.alive = norm > 0

    def step(self, gram: GramProduct) -> torch.Tensor:
        """One product; the top Ritz value of every block (CPU)."""
        blocks = self.blocks
        w = tuple(t.clone() for t in gram(self.q))  # updated in place below
        alpha = blocks.dot(self.q, w)
        blocks.add_scaled_(w, self.q, -alpha)
        if self.q_previous is not None:
            blocks.add_scaled_(w, self.q_previous, -self.beta_previous)
        correction = blocks.dot(self.q, w)  # one pass of reorthogonalisation against q
        blocks.add_scaled_(w, self.q, -correction)
        alpha = alpha + correction
        beta = blocks.norm(w)
        self.alphas.append(alpha)
        self.betas.append(beta)
        scale = alpha.abs() + self.beta_previous
        self.alive = self.alive & (beta > 1e-6 * scale)
        self.q_previous, self.q = self.q, blocks.scale(w, _safe_inverse(beta) * self.alive)
        self.beta_previous = beta
        return self._top_ritz()

    def exhausted(self) -> bool:
        return not bool(self.alive.any())

    def _top_ritz(self) -> torch.Tensor:
        alphas = torch.stack(self.alphas, dim=1).cpu()
        k = alphas.shape[1]
        tridiagonal = torch.diag_embed(alphas)
        if k > 1:
            off = torch.stack(self.betas[:-1], dim=1).cpu()
            tridiagonal = tridiagonal + torch.diag_embed(off, 1) + torch.diag_embed(off, -1)
        return torch.linalg.eigvalsh(tridiagonal)[:, -1]


def _safe_inverse(values: torch.Tensor) -> torch.Tensor:
    return torch.where(values > 0, 1.0 / values.clamp_min(1e-300), torch.zeros_like(values))
