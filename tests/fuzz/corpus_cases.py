"""Code-built cases the fuzzer found bugs with; replayed on every run (see test_corpus.py)."""
from __future__ import annotations

from typing import Callable

import onnx
from onnx import TensorProto, helper


def _model(nodes: list[onnx.NodeProto], initializers: list[onnx.TensorProto], output: str,
           ir_version: int = 8, opset: int = 17) -> onnx.ModelProto:
    graph = helper.make_graph(nodes, "corpus", [], [helper.make_tensor_value_info(output, TensorProto.FLOAT, None)],
                              initializer=initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    model.ir_version = ir_version
    return model


def scalar_initializer_without_data() -> onnx.ModelProto:
    """A 0-d FLOAT initializer with empty raw data: numpy reshape failed in the executor."""
    weight = onnx.TensorProto(name="w0", data_type=TensorProto.FLOAT, raw_data=b"")
    return _model([helper.make_node("Relu", ["w0"], ["t0"])], [weight], "t0", ir_version=3, opset=1)


def reduce_mean_without_inputs() -> onnx.ModelProto:
    """A ReduceMean with no inputs: graph building indexed node.input[0] (IndexError)."""
    weight = helper.make_tensor("w0", TensorProto.FLOAT, [2], [1.0, 2.0])
    nodes = [helper.make_node("ReduceMean", [], ["t0"], name="n0"), helper.make_node("Relu", ["w0"], ["t1"])]
    return _model(nodes, [weight], "t0")


def node_name_not_utf8() -> bytes:
    """A bit flip inside a node name: protobuf hands out bytes, a regex on names raised TypeError."""
    weight = helper.make_tensor("w0", TensorProto.FLOAT, [2], [1.0, 2.0])
    model = _model([helper.make_node("Relu", ["w0"], ["t0"], name="/layer\x7e/Relu")], [weight], "t0")
    return model.SerializeToString().replace(b"/layer\x7e/", b"/layer\xfe/")


def tensor_attribute_without_tensor() -> onnx.ModelProto:
    """A bit flip left ConstantOfShape's `value` typed TENSOR with no tensor: numpy_helper raised
    TypeError (UNDEFINED element type) while compiling the node."""
    node = helper.make_node("ConstantOfShape", ["shape"], ["t0"], name="n0")
    node.attribute.add(name="value", type=onnx.AttributeProto.TENSOR)
    shape = helper.make_tensor("shape", TensorProto.INT64, [1], [2])
    return _model([node], [shape], "t0")


def _serialized(build: Callable[[], onnx.ModelProto]) -> Callable[[], bytes]:
    return lambda: build().SerializeToString()


CASES: dict[str, Callable[[], bytes]] = {
    "scalar_initializer_without_data": _serialized(scalar_initializer_without_data),
    "reduce_mean_without_inputs": _serialized(reduce_mean_without_inputs),
    "node_name_not_utf8": node_name_not_utf8,
    "tensor_attribute_without_tensor": _serialized(tensor_attribute_without_tensor),
}
