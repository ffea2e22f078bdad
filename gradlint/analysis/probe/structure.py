"""What shape a layer's Jacobian has, found with a few Jacobian-vector products.

- block axes: axes along which J never mixes indices (the batch axis of a per-sample layer,
  the channel axis of a batch-statistics norm, the token axis of a LayerNorm). Found from one
  column of J (a one-hot tangent): its support must stay at the tangent's index on that axis.
- diagonal: J maps each entry to the same entry only (elementwise layers): sigma_max is then
  the largest |dy_i/dx_i| (summed in quadrature over several inputs), read off one product.
- constant axes: block axes along which the blocks are equal -- the Jacobian does not depend
  on the input there (a convolution or linear map is the same for every sample). Found by
  feeding the same tangent to every block and comparing the results; such layers are solved
  on one block.

The tests run on a narrowed copy of the layer's input when possible (`narrowing`), so they
cost a small fraction of one layer call. One column can be zero by accident (a ReLU at a
negative input), so a zero column is redrawn; a layer that keeps answering zero gets no
structure and is solved whole, which is always correct.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import torch

from gradlint.analysis.probe.blocks import Vector

Product = Callable[[Vector], Vector]
_RETRIES = 8  # a ReLU layer answers zero at about half its entries: 8 draws miss 1 in 256
_SAME = 1e-4  # relative difference below which two blocks' products count as equal


@dataclass(frozen=True)
class Structure:
    block_axes: tuple[int, ...] = ()
    diagonal: bool = False
    constant_axes: tuple[int, ...] = ()


def detect_structure(
    jvp: Product, inputs: Vector, output: torch.Tensor, generator: torch.Generator
) -> Structure:
    candidates = shared_axes(inputs, output)
    diagonal = all(x.shape == output.shape for x in inputs)
    for index in range(len(inputs)):
        column = _nonzero_column(jvp, inputs, index, generator)
        if column is None:
            return Structure()
        position, support = column
        candidates = [a for a in candidates if _stays_on_axis(support, a, position[a])]
        diagonal = diagonal and int(support.sum()) == 1 and bool(support[position])
    if diagonal:
        return Structure(tuple(range(output.dim())), True, ())
    if not candidates:
        return Structure()
    return Structure(tuple(candidates), False, _constant_axes(jvp, inputs, candidates, generator))


def shared_axes(inputs: Vector, output: torch.Tensor) -> list[int]:
    """Axes with the same size (at least 2) in every input and the output."""
    if any(x.dim() != output.dim() for x in inputs):
        return []
    return [
        a for a in range(output.dim())
        if output.shape[a] >= 2 and all(x.shape[a] == output.shape[a] for x in inputs)
    ]


def _nonzero_column(
    jvp: Product, inputs: Vector, index: int, generator: torch.Generator
) -> tuple[tuple[int, ...], torch.Tensor] | None:
    target = inputs[index]
    for _ in range(_RETRIES):
        flat = int(torch.randint(target.numel(), (1,), generator=generator))
        position = tuple(int(i) for i in torch.unravel_index(torch.tensor(flat), target.shape))
        tangent = [torch.zeros_like(x) for x in inputs]
        tangent[index][position] = 1.0
        out = jvp(tuple(tangent))[0]
        support = (out != 0) | torch.isnan(out)
        if bool(support.any()):
            return position, support
    return None


def _stays_on_axis(support: torch.Tensor, axis: int, index: int) -> bool:
    others = [d for d in range(support.dim()) if d != axis]
    hit = support.any(dim=others) if others else support
    return int(hit.sum()) == 1 and bool(hit[index])


def _constant_axes(
    jvp: Product, inputs: Vector, axes: Sequence[int], generator: torch.Generator
) -> tuple[int, ...]:
    if _equal_blocks(jvp, inputs, axes, generator):
        return tuple(axes)
    if len(axes) == 1:
        return ()
    return tuple(a for a in axes if _equal_blocks(jvp, inputs, [a], generator))


def _equal_blocks(jvp: Product, inputs: Vector, axes: Sequence[int], generator: torch.Generator) -> bool:
    tangent = []
    for x in inputs:
        shape = [1 if a in axes else s for a, s in enumerate(x.shape)]
        draw = torch.randn(shape, generator=generator, dtype=torch.float64)
        tangent.append(draw.to(device=x.device, dtype=x.dtype).expand(x.shape).contiguous())
    out = jvp(tuple(tangent))[0]
    reference = out
    for a in axes:
        reference = reference.narrow(a, 0, 1)
    scale = out.abs().max()
    return bool((out - reference).abs().max() <= _SAME * scale) and bool(torch.isfinite(scale))
