from __future__ import annotations

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from gradlint.errors import ModelLoadError
from gradlint.loaders.onnx.tensor_check import check_tensor_data, tensor_problem


def _tensor(dims: list[int], data_type: int = TensorProto.FLOAT, raw: bytes | None = None) -> onnx.TensorProto:
    tensor = onnx.TensorProto(name="w", data_type=data_type)
    tensor.dims.extend(dims)
    if raw is not None:
        tensor.raw_data = raw
    return tensor


def test_well_formed_tensors_pass() -> None:
    for array in (np.ones((2, 3), np.float32), np.arange(4, dtype=np.int64), np.array(1.5, np.float16),
                  np.zeros((0, 4), np.float32), np.array([True, False])):
        assert tensor_problem(numpy_helper.from_array(array, "w")) is None
    assert tensor_problem(helper.make_tensor("w", TensorProto.FLOAT, [2], [1.0, 2.0])) is None


@pytest.mark.parametrize(
    ("tensor", "expected"),
    [
        (_tensor([], raw=b""), "needs 1 values, the file stores 0"),  # the fuzzer's first find
        (_tensor([2, 2], raw=b"\x00" * 12), "needs 4 values, the file stores 3"),
        (_tensor([3], raw=b"\x00" * 5), "stores -1"),
        (_tensor([-2, 3]), "negative dimension"),
        (_tensor([1], data_type=999), "unknown element type 999"),
        (_tensor([2], data_type=TensorProto.UNDEFINED), "unknown element type 0"),
    ],
)
def test_mismatched_tensors_are_named(tensor: onnx.TensorProto, expected: str) -> None:
    assert expected in (tensor_problem(tensor) or "")


def test_attribute_tensors_in_subgraphs_are_checked() -> None:
    bad = _tensor([4], raw=b"\x00")
    constant = helper.make_node("Constant", [], ["c"], value=bad)
    body = helper.make_graph([constant], "body", [], [helper.make_tensor_value_info("c", TensorProto.FLOAT, [4])])
    node = helper.make_node("If", ["cond"], ["y"], then_branch=body, else_branch=body)
    graph = helper.make_graph([node], "g", [helper.make_tensor_value_info("cond", TensorProto.BOOL, [])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])])
    with pytest.raises(ModelLoadError, match="malformed ONNX tensor 'w'"):
        check_tensor_data(helper.make_model(graph))
