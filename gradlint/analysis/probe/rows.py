"""Layers that flatten tokens with the batch on one side only: output rows lined up with input rows.

Exporters run a linear layer on [batch * tokens, features] (Gemm is 2-D) and reshape to
[batch, tokens, ...] inside the same layer, sometimes with heads moved before tokens (GPT-2's
c_attn: rows [1024, 768] in, queries [8, 12, 128, 64] out). The structure tests compare axes
of equal size, so the per-token blocks of such a Jacobian stay hidden, and GPT-2's c_attn and
both c_proj were solved as one block over a whole sample's 128 tokens instead of once on one
token: 0.3-0.5 s each, 36 layers, two fifths of its local sigma_max time.

`rows_aligned` arranges the output as [rows, features]: two output axes whose sizes multiply
to the input's row count are moved to the front (axis 0 first) and flattened, the rest after
them. That reorders the Jacobian's rows and changes none of its singular values; it only makes
the token axis comparable. Whether that axis is a block axis is still tested, not assumed: a
wrong pairing just finds no structure, and the layer is solved whole, as before.
"""
from __future__ import annotations

from typing import Callable

import torch

from gradlint.analysis.probe.layer_call import LayerCall


def rows_aligned(call: LayerCall, output: torch.Tensor) -> tuple[LayerCall, torch.Tensor]:
    """(call, output) with the output as [rows, features] where that lines rows up, else as given."""
    order = _row_order(call, output)
    if order is None:
        return call, output
    arrange = _arrangement(order)
    arranged_output = arrange(output)
    aligned = LayerCall(
        lambda *tensors: arrange(call.function(*tensors)),
        call.tensors,
        sorted(call.slot_of),
        arranged_output.shape,
    )
    return aligned, arranged_output


def _row_order(call: LayerCall, output: torch.Tensor) -> tuple[int, ...] | None:
    """Axis 0, a second axis with the product of both equal to the input rows, then the rest."""
    primals = call.primals
    if not primals or any(x.dim() != 2 for x in primals) or output.dim() < 3:
        return None
    rows = primals[0].shape[0]
    if any(x.shape[0] != rows for x in primals) or output.shape[0] in (1, rows):
        return None
    for axis in range(1, output.dim()):
        if output.shape[0] * output.shape[axis] == rows:
            rest = [a for a in range(1, output.dim()) if a != axis]
            return (0, axis, *rest)
    return None


def _arrangement(order: tuple[int, ...]) -> Callable[[torch.Tensor], torch.Tensor]:
    def arrange(value: torch.Tensor) -> torch.Tensor:
        moved = value.permute(*order)
        return moved.reshape(moved.shape[0] * moved.shape[1], -1)

    return arrange
