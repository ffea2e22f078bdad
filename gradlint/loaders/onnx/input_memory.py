"""Refuse input shapes whose probe would not fit in memory, before allocating anything.

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
    """A quarter of physical RAM (None where the OS does not say)."""
    total = physical_memory()
    return total // 4 if total else None


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


def check_memory(
    index: GraphIndex, specs: Sequence[InputSpec], dims: Mapping[str, int], limit: int | None
) -> None:
    if not limit:
        return
    inputs = input_bytes(specs)
    activations = _ACTIVATION_COPIES * activation_bytes(index, dims)
    if inputs + activations > limit:
        raise ResourceLimitError(
            f"the probe would need about {_gib(inputs + activations)} "
            f"(inputs {_gib(inputs)}, activations {_gib(activations)}), over the limit of "
            f"{_gib(limit)}; pass a smaller --input-shape"
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
