"""Synthetic probe inputs, drawn per DESIGN.md from the seed alone.

Float inputs ~ N(0, 1); integer inputs (token ids) uniform over [low, high); inputs with a
fixed `value` are scalars. A CPU generator draws everything so the same seed gives the same
inputs on CPU and CUDA; tensors are moved to the device afterwards.
"""
from __future__ import annotations

from typing import Sequence

import torch

from gradlint.model import InputSpec


def make_probe_inputs(
    specs: Sequence[InputSpec], seed: int, device: torch.device | str = "cpu"
) -> dict[str, torch.Tensor]:
    generator = torch.Generator(device="cpu").manual_seed(seed)
    return {spec.name: _draw(spec, generator).to(device) for spec in specs}


def _draw(spec: InputSpec, generator: torch.Generator) -> torch.Tensor:
    if spec.value is not None:
        return torch.full(spec.shape, spec.value, dtype=spec.dtype)
    if spec.dtype.is_floating_point:
        return torch.randn(spec.shape, generator=generator, dtype=torch.float64).to(spec.dtype)
    if spec.dtype == torch.bool:
        return torch.randint(0, 2, spec.shape, generator=generator).bool()
    high = max(spec.high, spec.low + 1)
    return torch.randint(spec.low, high, spec.shape, generator=generator, dtype=torch.int64).to(
        spec.dtype
    )
