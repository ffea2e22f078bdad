"""sigma_max of the Jacobian of the whole batch's outputs w.r.t. the whole batch's inputs.

"Inputs" are the model's float inputs, or for token-id models the output of the first
embedding layer (ids have no derivative; the embedding output is where a gradient signal
starts). Products come from the probe pass's autograd graph. When the model treats samples
independently (checked with one vector-Jacobian product seeded on sample 0 alone), the
Jacobian is block diagonal over samples and each sample gets its own Krylov iteration, batched;
otherwise (batch statistics couple the samples) the batch is solved as one vector.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import torch

from gradlint.analysis.probe.blocks import Blocks
from gradlint.analysis.probe.jacobian import GraphJacobian, gram
from gradlint.analysis.probe.lanczos import SpectralEstimate, top_singular_value
from gradlint.analysis.probe.local_sigma import SigmaSettings


@dataclass(frozen=True)
class EndToEnd:
    estimate: SpectralEstimate
    per_sample: bool


def end_to_end_sigma(
    outputs: Sequence[torch.Tensor],
    wrt: Sequence[torch.Tensor],
    batch: int,
    settings: SigmaSettings,
    generator: torch.Generator,
) -> EndToEnd:
    operator = GraphJacobian(outputs, wrt)
    try:
        per_sample = _samples_independent(operator, batch, generator)
        blocks = Blocks.along(operator.inputs, [0]) if per_sample else Blocks.single(len(wrt))
        start = tuple(
            torch.randn(x.shape, generator=generator, dtype=torch.float64).to(x.device, x.dtype)
            for x in operator.inputs
        )
        estimate = top_singular_value(
            gram(operator), start, blocks, settings.tolerance, settings.max_iterations
        )
    finally:
        operator.close()
    return EndToEnd(estimate, per_sample)


def _samples_independent(operator: GraphJacobian, batch: int, generator: torch.Generator) -> bool:
    tensors = (*operator.inputs, *operator.outputs)
    if batch < 2 or any(t.dim() == 0 or t.shape[0] != batch for t in tensors):
        return False
    seeds = []
    for output in operator.outputs:
        draw = torch.zeros(output.shape, dtype=torch.float64)
        draw[0] = torch.randn(output.shape[1:], generator=generator, dtype=torch.float64)
        seeds.append(draw.to(output.device, output.dtype))
    grads = operator.vjp(tuple(seeds))
    return all(not bool(((g[1:] != 0) | torch.isnan(g[1:])).any()) for g in grads)
