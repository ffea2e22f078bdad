"""Refuse input shapes whose probe would not fit in memory, before allocating anything.

`inputs.fit_inputs` first halves a batch that is gradlint's default (not the user's, and
symbolic in the model) until the estimate fits; what still does not fit is refused.

The estimate is the probe inputs plus every intermediate tensor whose shape is known from
shape inference (symbolic dims bound to the resolved input dims), counted twice: once for the
forward value kept for backward and once for its gradient. It is rough, but it catches a
mistyped `--input-shape 64x3x2240x2240` before the machine starts swapping.
"""
from __future__ import annotations

import math
import os
from typing import Mapping, Sequence

import torch
from onnx import helper

from gradlint.errors import ResourceLimitError
from gradlint.loaders.onnx.graph_index import GraphIndex
from gradlint.model import InputSpec

_GIB = 1024**3
# Forward activation kept for backward + its gradient.
_ACTIVATION_COPIES = 2


def physical_memory() -> int | None:
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return None


def default_memory_limit() -> int | None:
    """Half of physical RAM (None where the OS does not say). The estimate is high by design:
    GPT-2 small at batch 8 x 128 tokens is estimated at 6.0-7.3 GiB and its whole gradlint
    run peaked at 4.8 GiB resident, so a quarter of a 24 GB machine refused a model that runs
    in a fifth of it."""
    total = physical_memory()
    return total // 2 if total else None


def input_bytes(specs: Sequence[InputSpec]) -> int:
    return sum(math.prod(spec.shape) * _itemsize(spec.dtype) for spec in specs)


def activation_bytes(index: GraphIndex, dims: Mapping[str, int]) -> int:
    """Bytes of every value_info tensor whose dims are known once `dims` binds the symbols."""
    total = 0
    for info in index.model.graph.value_info:
        tensor_type = info.type.tensor_type
        if not tensor_type.HasField("shape") or not tensor_type.elem_type:
            continue
        count = 1
        for dim in tensor_type.shape.dim:
            size = dim.dim_value if dim.HasField("dim_value") else dims.get(dim.dim_param)
            if not size:
                count = 0
                break
            count *= size
        total += count * _onnx_itemsize(tensor_type.elem_type)
    return total


def probe_bytes(index: GraphIndex, specs: Sequence[InputSpec], dims: Mapping[str, int]) -> tuple[int, int]:
    """(inputs, activations) the estimate of the module docstring."""
    return input_bytes(specs), _ACTIVATION_COPIES * activation_bytes(index, dims)


def fits(index: GraphIndex, specs: Sequence[InputSpec], dims: Mapping[str, int], limit: int | None) -> bool:
    return not limit or sum(probe_bytes(index, specs, dims)) <= limit


def check_memory(
    index: GraphIndex, specs: Sequence[InputSpec], dims: Mapping[str, int], limit: int | None
) -> None:
    if fits(index, specs, dims, limit):
        return
    inputs, activations = probe_bytes(index, specs, dims)
    raise ResourceLimitError(
        f"the probe would need about {_gib(inputs + activations)} "
        f"(inputs {_gib(inputs)}, activations {_gib(activations)}), over the limit of "
        f"{_gib(limit or 0)}; pass a smaller --input-shape"
    )


def _itemsize(dtype: torch.dtype) -> int:
    return torch.empty((), dtype=dtype).element_size()


def _onnx_itemsize(elem_type: int) -> int:
    try:
        return helper.tensor_dtype_to_np_dtype(elem_type).itemsize
    except Exception:  # strings and exotic types: count a word
        return 8


def _gib(count: int) -> str:
    return f"{count / _GIB:.1f} GiB"
