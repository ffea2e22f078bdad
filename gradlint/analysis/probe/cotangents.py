"""The backward probe's output cotangents: a random unit vector per sample.

Each sample's cotangent is drawn over all of its float output entries together and scaled to
norm 1, so the gradient that reaches a layer is Jᵀu for a random unit u: the standard probe
of how a unit signal at the output comes back through the network. When some float output
has no batch axis (its first dimension is not the batch), samples cannot be told apart and
the whole cotangent is scaled to norm sqrt(batch) instead, the same total.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch


def unit_cotangents(
    outputs: Sequence[torch.Tensor], batch: int, generator: torch.Generator
) -> tuple[tuple[torch.Tensor, ...], bool]:
    """(cotangents, per_sample): drawn on the CPU from `generator`, moved to each output's device."""
    draws = [
        torch.randn(o.shape, generator=generator, dtype=torch.float64 if o.dtype == torch.float64 else torch.float32)
        for o in outputs
    ]
    per_sample = batch > 1 and all(o.dim() > 0 and o.shape[0] == batch for o in outputs)
    if per_sample:
        # Per-sample norms without a widened copy: a float64 sum of float32 draws materialised
        # a float64 copy of the logits cotangent (411 MB for GPT-2 at 128 tokens, 0.6 s).
        squared = sum(torch.linalg.vector_norm(d.reshape(batch, -1), dim=1).double().square() for d in draws)
        scale = squared.rsqrt()
        # In place: GPT-2's logits cotangent is 206 MB at 128 tokens, and every fresh buffer
        # of that size is paid again in page faults.
        draws = [d.mul_(scale.to(d.dtype).reshape(-1, *([1] * (d.dim() - 1)))) for d in draws]
    else:
        total = math.sqrt(sum(float(d.pow(2).sum(dtype=torch.float64)) for d in draws)) or 1.0
        draws = [d * (math.sqrt(max(batch, 1)) / total) for d in draws]
    return tuple(d.to(device=o.device, dtype=o.dtype) for d, o in zip(draws, outputs)), per_sample
