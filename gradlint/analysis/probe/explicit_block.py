"""sigma_max of a constant per-row Jacobian, from its block read off explicitly.

Where every row of a layer's Jacobian block is the same matrix M (the structure tests found the
row axis a constant block axis) but the layer does not run on one row, the smallest call holds
many rows: a dynamic-batch GPT-2 export reshapes to [-1, 128, 768] inside its linear layers, so
one sample's 128 tokens is as small as a call gets. Lanczos on that call paid 12-15 products
(a jvp and a vjp each) on 128 rows to solve one 768-wide block. Here one vjp, with a different
basis cotangent in each row, returns 128 rows of M at once: ceil(768 / 128) = 6 backward passes
give all of M, and Lanczos then runs on M itself, where a product is a matrix-vector multiply.
With more outputs than inputs, jvps with basis tangents give M's columns instead.
"""
from __future__ import annotations

import math

import torch

from gradlint.analysis.probe.blocks import Blocks, random_vector
from gradlint.analysis.probe.jacobian import GraphJacobian
from gradlint.analysis.probe.lanczos import SpectralEstimate, top_singular_value
from gradlint.analysis.probe.layer_call import LayerCall

MAX_PRODUCTS = 12  # beyond this, Lanczos on the call (about 15 products) is as cheap


def explicit_block_sigma(
    call: LayerCall, tolerance: float, max_iterations: int, generator: torch.Generator
) -> SpectralEstimate | None:
    """sigma_max of the block every row shares; None where reading it off costs too much."""
    if len(call.primals) != 1 or call.primals[0].dim() != 2 or len(call.output_shape) != 2:
        return None
    rows, width_in = call.primals[0].shape
    width_out = call.output_shape[1]
    width = min(width_in, width_out)
    if math.ceil(width / rows) > MAX_PRODUCTS:
        return None
    matrix = _block(call, rows, width, by_rows=width_out <= width_in)
    start = random_vector((matrix[0],), generator)
    gram = lambda v: (matrix.T @ (matrix @ v[0]),)  # noqa: E731 - a one-line product
    return top_singular_value(gram, start, Blocks.single(1), tolerance, max_iterations)


def _block(call: LayerCall, rows: int, width: int, by_rows: bool) -> torch.Tensor:
    """M by vjps (rows of M) or jvps (columns of M), `rows` basis vectors per product."""
    operator = GraphJacobian.of_function(call, call.primals)
    x = call.primals[0]
    size = call.output_shape[1] if by_rows else x.shape[1]
    pieces = []
    for offset in range(0, width, rows):
        count = min(rows, width - offset)
        basis = torch.zeros((rows, size), dtype=x.dtype, device=x.device)
        index = torch.arange(count, device=x.device)
        basis[index, offset + index] = 1.0
        product = operator.vjp((basis,)) if by_rows else operator.jvp((basis,))
        pieces.append(product[0][:count])
    operator.close()
    return torch.cat(pieces)
