"""Shape ops against onnxruntime, in the attribute form (old opsets) and the input form."""
from __future__ import annotations

import numpy as np
import pytest


def randn(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def i64(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.int64)


@pytest.mark.parametrize(
    "shape, attrs, opset",
    [((3, -1), {}, 13), ((0, 4, -1), {}, 13), ((2, 0, 4), {}, 13), ((6, 4), {"allowzero": 1}, 14)],
)
def test_reshape(onnx_helpers, shape, attrs, opset):
    onnx_helpers.check_node("Reshape", {"x": randn(2, 3, 4), "s": i64(*shape)}, attrs, opset)


@pytest.mark.parametrize("axis", [None, 0, 2, -1])
def test_flatten(onnx_helpers, axis):
    attrs = {} if axis is None else {"axis": axis}
    onnx_helpers.check_node("Flatten", {"x": randn(2, 3, 4)}, attrs, opset=13)


@pytest.mark.parametrize("perm", [None, [0, 2, 1], [2, 0, 1]])
def test_transpose(onnx_helpers, perm):
    attrs = {} if perm is None else {"perm": perm}
    onnx_helpers.check_node("Transpose", {"x": randn(2, 3, 4)}, attrs)


def test_squeeze_attribute_form(onnx_helpers):
    onnx_helpers.check_node("Squeeze", {"x": randn(1, 3, 1, 2)}, {"axes": [0, -2]}, opset=11)
    onnx_helpers.check_node("Squeeze", {"x": randn(1, 3, 1, 2)}, {}, opset=11)


def test_squeeze_input_form(onnx_helpers):
    onnx_helpers.check_node("Squeeze", {"x": randn(1, 3, 1, 2), "a": i64(2)}, opset=13)
    onnx_helpers.check_node("Squeeze", {"x": randn(1, 3, 1, 2)}, opset=13)


def test_unsqueeze_both_forms(onnx_helpers):
    onnx_helpers.check_node("Unsqueeze", {"x": randn(3, 2)}, {"axes": [0, 3]}, opset=11)
    onnx_helpers.check_node("Unsqueeze", {"x": randn(3, 2), "a": i64(-1, 1)}, opset=13)
    onnx_helpers.check_node("Unsqueeze", {"x": np.array(2.0, np.float32), "a": i64(0)}, opset=13)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_concat(onnx_helpers, axis):
    inputs = {"a": randn(2, 3, seed=1), "b": randn(2, 3, seed=2)}
    onnx_helpers.check_node("Concat", inputs, {"axis": axis})


def test_concat_of_shape_pieces_with_empty_part(onnx_helpers):
    inputs = {"a": i64(2, 3), "b": np.zeros(0, np.int64), "c": i64(4)}
    onnx_helpers.check_node("Concat", inputs, {"axis": 0})


def test_split_attribute_form(onnx_helpers):
    onnx_helpers.check_node("Split", {"x": randn(6, 2)}, {"split": [2, 4]}, opset=11, outputs=2)
    onnx_helpers.check_node("Split", {"x": randn(2, 6)}, {"axis": 1}, opset=11, outputs=3)


def test_split_input_form(onnx_helpers):
    inputs = {"x": randn(2, 7), "s": i64(3, 4)}
    onnx_helpers.check_node("Split", inputs, {"axis": -1}, opset=13, outputs=2)
    onnx_helpers.check_node("Split", {"x": randn(6, 2)}, {}, opset=13, outputs=3)


def test_split_num_outputs_uneven(onnx_helpers):
    onnx_helpers.check_node("Split", {"x": randn(7, 2)}, {"num_outputs": 3}, opset=18, outputs=3)


@pytest.mark.parametrize("shape", [(2, 3, 4), (3, 1), (1, 1, 4), (4,)])
def test_expand_broadcasts_both_ways(onnx_helpers, shape):
    onnx_helpers.check_node("Expand", {"x": randn(3, 1), "s": i64(*shape)})
