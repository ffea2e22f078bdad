from __future__ import annotations

import onnx
import pytest
from onnx import TensorProto, helper

from gradlint.errors import ModelLoadError
from gradlint.loaders.onnx.node_check import check_node_arity


def _model(node, opset: int = 17):
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])])
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        (helper.make_node("ReduceMean", [], ["y"], name="r"), "'r' (ReduceMean): 0 inputs, the op needs at least 1"),
        (helper.make_node("Relu", ["x", "x"], ["y"]), "2 inputs, the op takes at most 1"),
        (helper.make_node("Relu", ["x"], ["y", "z"]), "2 outputs"),
    ],
)
def test_wrong_arity_is_refused_naming_the_node(node, expected: str) -> None:
    with pytest.raises(ModelLoadError, match="malformed ONNX node") as raised:
        check_node_arity(_model(node))
    assert expected in raised.value.message


@pytest.mark.parametrize(
    "node",
    [
        helper.make_node("Relu", ["x"], ["y"]),
        helper.make_node("Clip", ["x", "", ""], ["y"]),  # empty names for skipped optional inputs
        helper.make_node("FooBar", [], ["y"]),  # unknown ops are the executor's to report
        helper.make_node("Custom", [], ["y"], domain="com.example"),
    ],
)
def test_well_formed_and_unknown_nodes_pass(node) -> None:
    check_node_arity(_model(node))


def test_a_name_that_is_not_utf8_is_a_corrupt_file() -> None:
    model = _model(helper.make_node("Relu", ["x"], ["y"], name="/a~/Relu"))
    corrupt = onnx.load_from_string(model.SerializeToString().replace(b"/a~/", b"/a\xfe/"))
    with pytest.raises(ModelLoadError, match="not valid UTF-8"):
        check_node_arity(corrupt)
