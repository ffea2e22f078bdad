"""The largest eigenvalue of a Gram operator JᵀJ, for every block at once.

This is power iteration on JᵀJ in which the estimate is read from the whole Krylov space the
iterates span (the Lanczos process) instead of from the last iterate alone: same products,
same memory (three vectors), but a random start reaches a relative accuracy of 1e-3 in a few
products even when the top of the spectrum is crowded, where the plain power iterate's
Rayleigh quotient creeps up for hundreds. In exact arithmetic every estimate is a lower bound
that only rises, and stays below the true value in floating point too (Paige), so a
converged estimate never overshoots.

Stopping: a block has settled when its sigma_max estimate (sqrt of the top Ritz value) moved
by less than `tolerance` relative to the previous iteration AND the top Ritz pair's residual
||JᵀJy - θy|| = beta_k |s_k| is below sqrt(tolerance)/3 of θ. The change test alone stops on
the plateaus Lanczos shows when the top of the spectrum is a dense cluster (any wide random
layer): measured on a 768-wide MLP block, it stopped 2% low after 7 products. The residual
bounds the distance to an eigenvalue by r and the eigenvalue error by about r²/gap, so
r/θ < sqrt(tol)/3 keeps the error near `tolerance` for gaps down to a tenth of θ. A block
whose Krylov space became invariant is exact. The iteration ends when every block settled
(`converged`) or at `max_iterations` (not converged; the estimates are lower bounds).
"""
from __future__ import annotations

import math
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
    previous = None
    residual_bound = math.sqrt(tolerance) / 3
    for iteration in range(1, max_iterations + 1):
        theta, residual = state.step(gram)
        sigma = theta.clamp_min(0).sqrt()
        if previous is not None:
            change = (sigma - previous).abs() <= tolerance * sigma.clamp_min(1e-300)
            small = residual <= residual_bound * theta.abs()
            if bool(((change & small) | ~state.alive.cpu()).all()):
                return _estimate(sigma, iteration, True)
        elif state.exhausted():
            return _estimate(sigma, iteration, True)
        previous = sigma
    return _estimate(previous, max_iterations, False)


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

    def step(self, gram: GramProduct) -> tuple[torch.Tensor, torch.Tensor]:
        """One product; the top Ritz value of every block and its residual norm (CPU)."""
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

    def _top_ritz(self) -> tuple[torch.Tensor, torch.Tensor]:
        alphas = torch.stack(self.alphas, dim=1).cpu()
        k = alphas.shape[1]
        tridiagonal = torch.diag_embed(alphas)
        if k > 1:
            off = torch.stack(self.betas[:-1], dim=1).cpu()
            tridiagonal = tridiagonal + torch.diag_embed(off, 1) + torch.diag_embed(off, -1)
        values, vectors = torch.linalg.eigh(tridiagonal)
        residual = (self.betas[-1].cpu() * vectors[:, -1, -1]).abs()
        return values[:, -1], residual


def _safe_inverse(values: torch.Tensor) -> torch.Tensor:
    return torch.where(values > 0, 1.0 / values.clamp_min(1e-300), torch.zeros_like(values))
