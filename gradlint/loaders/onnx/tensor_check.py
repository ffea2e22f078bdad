"""Refuse tensors whose stored data cannot fill their declared shape, before anything decodes them.

A file may declare an initializer of shape [64, 64] and store 3 bytes, a negative dim, or an
element type that does not exist; numpy would fail deep inside the executor. Found by fuzzing.
"""
from __future__ import annotations

import math

import onnx
from onnx import TensorProto, helper

from gradlint.errors import ModelLoadError
from gradlint.loaders.onnx.external_data import iter_tensors

# Types stored as several numbers per element in the typed fields.
_VALUES_PER_ELEMENT = {TensorProto.COMPLEX64: 2, TensorProto.COMPLEX128: 2}
# Sub-byte types pack two elements per byte: their sizes are left to onnx.
_PACKED = {getattr(TensorProto, name) for name in ("INT4", "UINT4", "FLOAT4E2M1", "INT2", "UINT2")
           if hasattr(TensorProto, name)}


def check_tensor_data(model: onnx.ModelProto) -> None:
    """ModelLoadError naming the first tensor whose data does not match its type and shape."""
    for tensor in iter_tensors(model.graph):
        problem = tensor_problem(tensor)
        if problem:
            name = repr(tensor.name) if tensor.name else "(unnamed)"
            raise ModelLoadError(f"malformed ONNX tensor {name}: {problem}")


def tensor_problem(tensor: onnx.TensorProto) -> str | None:
    if any(dim < 0 for dim in tensor.dims):
        return f"negative dimension in shape {list(tensor.dims)}"
    if tensor.data_type not in TensorProto.DataType.values() or tensor.data_type == TensorProto.UNDEFINED:
        return f"unknown element type {tensor.data_type}"
    if tensor.data_location == TensorProto.EXTERNAL or tensor.data_type in _PACKED:
        return None
    needed = math.prod(tensor.dims)
    stored = _stored_elements(tensor)
    if stored != needed:
        return f"shape {list(tensor.dims)} needs {needed} values, the file stores {stored}"
    return None


def _stored_elements(tensor: onnx.TensorProto) -> int:
    if tensor.HasField("raw_data"):
        if tensor.data_type == TensorProto.STRING:
            return -1  # strings are never raw
        itemsize = helper.tensor_dtype_to_np_dtype(tensor.data_type).itemsize
        whole, rest = divmod(len(tensor.raw_data), itemsize)
        return whole if rest == 0 else -1
    values = len(getattr(tensor, helper.tensor_dtype_to_field(tensor.data_type)))
    per_element = _VALUES_PER_ELEMENT.get(tensor.data_type, 1)
    return values // per_element if values % per_element == 0 else -1
