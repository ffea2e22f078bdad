"""ONNX element types as torch dtypes, and conversion of ONNX tensors to torch.

Every float type becomes the executor's compute dtype (float32 by default, float64 for
gradcheck) so one model computes in one precision; unsigned types wider than 8 bits become
int64 because torch supports few ops on them.
"""
from __future__ import annotations

import numpy as np
import onnx
import torch
from onnx import TensorProto, numpy_helper

FLOAT_TYPES = frozenset(
    {TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.FLOAT16, TensorProto.BFLOAT16}
)

# Reduced-precision float types: a Cast to them rounds, then returns to the compute dtype.
ROUNDING_TYPES = {TensorProto.FLOAT16: torch.float16, TensorProto.BFLOAT16: torch.bfloat16}

_INT_TYPES = {
    TensorProto.UINT8: torch.uint8,
    TensorProto.INT8: torch.int8,
    TensorProto.INT16: torch.int16,
    TensorProto.INT32: torch.int32,
    TensorProto.INT64: torch.int64,
    TensorProto.UINT16: torch.int64,
    TensorProto.UINT32: torch.int64,
    TensorProto.UINT64: torch.int64,
    TensorProto.BOOL: torch.bool,
}


def torch_dtype(elem_type: int, float_dtype: torch.dtype) -> torch.dtype:
    """The torch dtype gradlint computes ONNX element type `elem_type` in."""
    if elem_type in FLOAT_TYPES:
        return float_dtype
    if elem_type in _INT_TYPES:
        return _INT_TYPES[elem_type]
    name = TensorProto.DataType.Name(elem_type) if elem_type else "UNDEFINED"
    raise TypeError(f"ONNX element type {name} has no torch equivalent in gradlint")


def tensor_from_proto(proto: onnx.TensorProto, float_dtype: torch.dtype) -> torch.Tensor:
    """An ONNX TensorProto (initializer or attribute) as a torch tensor on the CPU."""
    array = numpy_helper.to_array(proto)
    return tensor_from_numpy(array, float_dtype)


_NUMPY_FLOATS = {torch.float32: np.dtype(np.float32), torch.float64: np.dtype(np.float64)}


def tensor_from_numpy(array: np.ndarray, float_dtype: torch.dtype) -> torch.Tensor:
    # np.array (not ascontiguousarray) keeps 0-d arrays 0-d and gives a writable copy
    if array.dtype == _NUMPY_FLOATS.get(float_dtype):
        # Already the compute dtype: one copy instead of a detour through float64 (which
        # would round-trip exactly), 1 GB of temporaries fewer on GPT-2 small.
        return torch.from_numpy(np.array(array))
    if array.dtype.kind in "fV" or "bfloat16" in str(array.dtype):
        return torch.from_numpy(np.array(array, dtype=np.float64)).to(float_dtype)
    if array.dtype.kind == "b":
        return torch.from_numpy(np.array(array))
    if array.dtype.kind in "iu":
        target = array.dtype if array.dtype.itemsize == 1 or array.dtype.kind == "i" else np.int64
        return torch.from_numpy(np.array(array, dtype=target))
    raise TypeError(f"ONNX tensor of dtype {array.dtype} has no torch equivalent in gradlint")
