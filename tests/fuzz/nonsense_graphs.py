"""Hypothesis strategies for ONNX protobufs that parse but describe nonsense graphs.

Dangling inputs, cycles, attributes of the wrong type, zero/negative/huge dims, initializers
whose data does not match their shape, unknown domains and ops, odd opsets and dtypes.
"""
from __future__ import annotations

import numpy as np
import onnx
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

OPS = (
    "Relu", "Sigmoid", "Tanh", "Add", "Mul", "MatMul", "Gemm", "Conv", "Reshape", "Transpose",
    "Concat", "Softmax", "Slice", "Gather", "Identity", "BatchNormalization",
    "LayerNormalization", "Cast", "Expand", "Split", "Squeeze", "Unsqueeze", "ReduceMean",
    "Flatten", "MaxPool", "LSTM", "If", "Loop", "Constant", "Shape", "Where", "FooBar",
)
DOMAINS = ("", "", "", "ai.onnx", "com.microsoft", "com.evil.custom", "ai.onnx.ml")
ATTRIBUTE_NAMES = ("axis", "perm", "transB", "kernel_shape", "alpha", "to", "shape", "epsilon",
                   "axes", "pads", "strides", "hidden_size", "value", "body", "then_branch")
ELEM_TYPES = (TensorProto.FLOAT, TensorProto.FLOAT, TensorProto.INT64, TensorProto.DOUBLE,
              TensorProto.FLOAT16, TensorProto.BOOL, TensorProto.STRING, TensorProto.UINT8, 0, 999)
DIMS = st.one_of(
    st.sampled_from([0, 1, 2, 3, 4, -1, -7, 2**31, 2**40]),
    st.integers(min_value=-3, max_value=16),
    st.sampled_from(["N", "batch", "", "seq"]),
)


def _make_dim_list(dims: list[int | str]) -> list[int | str | None]:
    return [dim if dim != "" else None for dim in dims]


@st.composite
def value_infos(draw: st.DrawFn, name: str) -> onnx.ValueInfoProto:
    dims = draw(st.lists(DIMS, max_size=4))
    elem_type = draw(st.sampled_from(ELEM_TYPES))
    if draw(st.booleans()):
        return helper.make_tensor_value_info(name, elem_type, _make_dim_list(dims))
    return helper.make_tensor_value_info(name, elem_type, None)  # rank unknown


@st.composite
def initializers(draw: st.DrawFn, name: str) -> onnx.TensorProto:
    """Mostly well-formed tensors (so cases reach the executor), sometimes mismatched ones."""
    if draw(st.sampled_from([True, True, True, False])):
        return draw(well_formed_tensors(name))
    return draw(mismatched_tensors(name))


@st.composite
def well_formed_tensors(draw: st.DrawFn, name: str) -> onnx.TensorProto:
    shape = tuple(draw(st.lists(st.integers(0, 4), max_size=4)))
    dtype = draw(st.sampled_from([np.float32, np.float32, np.int64, np.float16, np.bool_]))
    special = draw(st.sampled_from([0.0, 1.0, -1.0, np.nan, np.inf, 1e30]))
    values = np.random.default_rng(draw(st.integers(0, 2**16))).normal(size=shape)
    if draw(st.booleans()) and values.size:
        values.flat[0] = special
    with np.errstate(all="ignore"):
        array = values.astype(dtype) if dtype is not np.int64 else np.nan_to_num(values).astype(dtype)
    return numpy_helper.from_array(array, name)


@st.composite
def mismatched_tensors(draw: st.DrawFn, name: str) -> onnx.TensorProto:
    """A tensor whose stored data may or may not match its declared shape."""
    dims = draw(st.lists(st.sampled_from([0, 1, 2, 3, 4, 8, -1, 2**33]), max_size=3))
    tensor = onnx.TensorProto(name=name, data_type=draw(st.sampled_from(ELEM_TYPES)))
    tensor.dims.extend(dims)
    storage = draw(st.sampled_from(["raw", "float_data", "int64_data", "none"]))
    if storage == "raw":
        tensor.raw_data = draw(st.binary(max_size=96))
    elif storage == "float_data":
        tensor.float_data.extend(draw(st.lists(st.floats(width=32), max_size=24)))
    elif storage == "int64_data":
        tensor.int64_data.extend(draw(st.lists(st.integers(-(2**63), 2**63 - 1), max_size=24)))
    return tensor


@st.composite
def attributes(draw: st.DrawFn) -> onnx.AttributeProto:
    """Any attribute name with a value of any type: the op may expect another type."""
    name = draw(st.sampled_from(ATTRIBUTE_NAMES))
    kind = draw(st.sampled_from(["int", "float", "string", "ints", "floats", "tensor", "graph"]))
    if kind == "int":
        value: object = draw(st.integers(-(2**40), 2**40))
    elif kind == "float":
        value = draw(st.floats(allow_nan=True, allow_infinity=True, width=32))
    elif kind == "string":
        value = draw(st.binary(max_size=12))
    elif kind == "ints":
        value = draw(st.lists(st.integers(-9, 9), min_size=1, max_size=5))
    elif kind == "floats":
        value = draw(st.lists(st.floats(width=32), min_size=1, max_size=4))
    elif kind == "tensor":
        value = draw(initializers(f"{name}_value"))
    else:
        value = helper.make_graph([], f"{name}_body", [], [])
    return helper.make_attribute(name, value)


@st.composite
def nonsense_models(draw: st.DrawFn) -> onnx.ModelProto:
    input_names = [f"in{index}" for index in range(draw(st.integers(0, 2)))]
    init_names = [f"w{index}" for index in range(draw(st.integers(0, 3)))]
    node_count = draw(st.integers(1, 6))
    outputs = [f"t{index}" for index in range(node_count)]
    # Later outputs and never-produced names make cycles and dangling inputs.
    pool = input_names + init_names + outputs + ["dangling", ""]
    nodes = []
    for index in range(node_count):
        op = draw(st.sampled_from(OPS))
        sources = draw(st.lists(st.sampled_from(pool), max_size=4))
        extra = draw(st.lists(st.sampled_from(["extra_a", "extra_b"]), max_size=1))
        nodes.append(helper.make_node(
            op, sources, [outputs[index], *extra], name=f"n{index}",
            domain=draw(st.sampled_from(DOMAINS)),
        ))
        nodes[-1].attribute.extend(draw(st.lists(attributes(), max_size=3)))
    graph = helper.make_graph(
        nodes, "nonsense",
        [draw(value_infos(name)) for name in input_names],
        [draw(value_infos(name)) for name in draw(st.lists(st.sampled_from(outputs * 4 + ["dangling"]),
                                                           min_size=1, max_size=2, unique=True))],
        initializer=[draw(initializers(name)) for name in init_names],
    )
    opsets = [helper.make_opsetid("", draw(st.sampled_from([1, 7, 11, 13, 17, 18, 21, 99, -1])))]
    if draw(st.booleans()):
        opsets.append(helper.make_opsetid(draw(st.sampled_from(DOMAINS[3:])), 1))
    model = helper.make_model(graph, opset_imports=opsets)
    model.ir_version = draw(st.sampled_from([3, 7, 8, 9, 10, 0, 99]))
    return model
