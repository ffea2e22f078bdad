"""Reductions, arg-reductions and softmax against onnxruntime, across the opset-13/18 moves."""
from __future__ import annotations

import numpy as np
import pytest

REDUCTIONS = ["ReduceMean", "ReduceSum", "ReduceProd", "ReduceMax", "ReduceMin"]


def randn(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("op", REDUCTIONS)
@pytest.mark.parametrize("attrs", [{}, {"axes": [1]}, {"axes": [0, -1], "keepdims": 0}])
def test_reduce_axes_attribute(onnx_helpers, op, attrs):
    onnx_helpers.check_node(op, {"x": randn(2, 3, 4)}, attrs, opset=11)


@pytest.mark.parametrize("op", REDUCTIONS)
@pytest.mark.parametrize("axes", [None, [1], [0, 2]])
@pytest.mark.parametrize("keepdims", [0, 1])
def test_reduce_axes_input_opset_18(onnx_helpers, op, axes, keepdims):
    inputs = {"x": randn(2, 3, 4), "a": np.array(axes, np.int64) if axes else None}
    onnx_helpers.check_node(op, inputs, {"keepdims": keepdims}, opset=18)


def test_reduce_sum_axes_input_opset_13(onnx_helpers):
    inputs = {"x": randn(2, 3, 4), "a": np.array([-1], np.int64)}
    onnx_helpers.check_node("ReduceSum", inputs, opset=13)


@pytest.mark.parametrize("op", ["ReduceSum", "ReduceMean"])
def test_noop_with_empty_axes(onnx_helpers, op):
    opset = 13 if op == "ReduceSum" else 18
    onnx_helpers.check_node(op, {"x": randn(2, 3)}, {"noop_with_empty_axes": 1}, opset=opset)


def test_reduce_integer_tensor(onnx_helpers):
    x = np.array([[3, 4, 5], [1, 2, 2]], dtype=np.int64)
    onnx_helpers.check_node("ReduceProd", {"x": x}, {"axes": [1], "keepdims": 0}, opset=11)
    onnx_helpers.check_node("ReduceSum", {"x": x}, {"keepdims": 0}, opset=11)


@pytest.mark.parametrize("op", ["ArgMax", "ArgMin"])
@pytest.mark.parametrize(
    "attrs", [{}, {"axis": 1, "keepdims": 0}, {"axis": -1, "select_last_index": 1}]
)
def test_arg_reductions_with_ties(onnx_helpers, op, attrs):
    x = np.array([[1, 3, 3, 0], [2, 2, 0, 0], [5, 1, 5, 1]], dtype=np.float32)
    onnx_helpers.check_node(op, {"x": x}, attrs, opset=13)


@pytest.mark.parametrize("op", ["Softmax", "LogSoftmax"])
@pytest.mark.parametrize("attrs, opset", [({}, 11), ({"axis": 2}, 11), ({}, 13), ({"axis": 1}, 13)])
def test_softmax_coercion_before_13_and_axis_after(onnx_helpers, op, attrs, opset):
    onnx_helpers.check_node(op, {"x": randn(2, 3, 4) * 3}, attrs, opset=opset)
