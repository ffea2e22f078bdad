"""light_copy: large float weights lose their bytes, everything else is kept."""
from __future__ import annotations

import numpy as np
import onnx
from onnx import helper
from onnx_graphs import float_input, model, tensor

from gradlint.loaders.onnx.light_copy import BULK_ELEMENTS, light_copy, replace_fields


def _weights_and_shapes() -> onnx.ModelProto:
    big = tensor("w", np.ones((8, BULK_ELEMENTS // 4), np.float32))
    small = tensor("b", np.full(BULK_ELEMENTS // 4, 0.5, np.float32))
    ints = tensor("shape", np.arange(BULK_ELEMENTS + 1, dtype=np.int64))
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"]), helper.make_node("Add", ["h", "b"], ["y"])]
    return model(nodes, [float_input("x", [2, 8])], ["y"], [big, small, ints])


def test_only_large_float_weights_lose_their_data() -> None:
    proto = _weights_and_shapes()
    light = light_copy(proto)
    big, small, ints = light.graph.initializer
    assert not big.HasField("raw_data") and list(big.dims) == [8, BULK_ELEMENTS // 4]
    assert big.data_type == onnx.TensorProto.FLOAT and big.name == "w"
    assert small == proto.graph.initializer[1] and ints == proto.graph.initializer[2]
    assert list(light.graph.node) == list(proto.graph.node)
    assert light.opset_import == proto.opset_import and light.ir_version == proto.ir_version


def test_replace_fields_keeps_the_skipped_one() -> None:
    proto, other = _weights_and_shapes(), _weights_and_shapes()
    other.graph.name = "renamed"
    del other.graph.initializer[:]
    replace_fields(other.graph, proto.graph, skip="initializer")
    assert proto.graph.name == "renamed" and len(proto.graph.initializer) == 3
