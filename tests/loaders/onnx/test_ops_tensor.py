"""Constants, casts, shapes, ranges and dropout against onnxruntime."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from gradlint.loaders.onnx.executor import build_runnable


def randn(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize(
    "to", [TensorProto.INT64, TensorProto.INT32, TensorProto.BOOL, TensorProto.DOUBLE,
           TensorProto.FLOAT16, TensorProto.UINT8]
)
def test_cast_from_float(onnx_helpers, to):
    x = (randn(3, 4) * 5).astype(np.float32)
    if to == TensorProto.UINT8:
        x = np.abs(x)
    onnx_helpers.check_node("Cast", {"x": x}, {"to": to}, tol=1e-3)


def test_cast_integer_to_float_and_bool(onnx_helpers):
    x = np.array([0, 3, -2], dtype=np.int64)
    onnx_helpers.check_node("Cast", {"x": x}, {"to": TensorProto.FLOAT})
    onnx_helpers.check_node("Cast", {"x": x}, {"to": TensorProto.BOOL})


def test_cast_to_float16_rounds_but_stays_in_compute_dtype(onnx_helpers):
    x = np.array([1.0001, 3.14159], dtype=np.float32)
    (out,) = onnx_helpers.run_executor(
        onnx_helpers.make_model(
            [helper.make_node("Cast", ["x"], ["y"], to=TensorProto.FLOAT16)], {"x": x}, ["y"]
        ),
        {"x": x},
    )
    assert out.dtype == torch.float32
    np.testing.assert_array_equal(out.numpy(), x.astype(np.float16).astype(np.float32))


def test_cast_like(onnx_helpers):
    onnx_helpers.check_node("CastLike", {"x": randn(3) * 4, "t": np.array([1], np.int32)})


def test_identity(onnx_helpers):
    onnx_helpers.check_node("Identity", {"x": randn(2, 2)})


@pytest.mark.parametrize(
    "attrs",
    [
        {"value": numpy_helper.from_array(randn(2, 3))},
        {"value": numpy_helper.from_array(np.array(5, dtype=np.int64))},
        {"value_float": 2.5},
        {"value_floats": [1.0, 2.0]},
        {"value_int": 7},
        {"value_ints": [1, 2, 3]},
    ],
)
def test_constant_forms(onnx_helpers, attrs):
    onnx_helpers.check_node("Constant", {}, attrs)


@pytest.mark.parametrize(
    "value", [None, numpy_helper.from_array(np.array([3], dtype=np.int64)),
              numpy_helper.from_array(np.array([1.5], dtype=np.float32))]
)
def test_constant_of_shape(onnx_helpers, value):
    attrs = {"value": value} if value is not None else {}
    onnx_helpers.check_node("ConstantOfShape", {"s": np.array([2, 3], np.int64)}, attrs)


def test_constant_of_empty_shape_is_scalar(onnx_helpers):
    onnx_helpers.check_node("ConstantOfShape", {"s": np.zeros(0, np.int64)}, {})


@pytest.mark.parametrize("attrs, opset", [({}, 13), ({"start": 1}, 15), ({"start": -2, "end": -1}, 15)])
def test_shape(onnx_helpers, attrs, opset):
    onnx_helpers.check_node("Shape", {"x": randn(2, 3, 4)}, attrs, opset=opset)


def test_size(onnx_helpers):
    onnx_helpers.check_node("Size", {"x": randn(2, 3, 4)})


@pytest.mark.parametrize(
    "start, limit, delta",
    [(0, 5, 1), (10, 2, -3), (1, 1, 1), (0.5, 2.0, 0.3)],
)
def test_range(onnx_helpers, start, limit, delta):
    dtype = np.float32 if isinstance(start, float) else np.int64
    inputs = {n: np.array(v, dtype=dtype) for n, v in zip("sld", (start, limit, delta))}
    onnx_helpers.check_node("Range", inputs, opset=11)


@pytest.mark.parametrize("opset", [7, 12, 13])
def test_dropout_is_identity(onnx_helpers, opset):
    x = randn(4, 5)
    model = onnx_helpers.make_model(
        [helper.make_node("Dropout", ["x"], ["y", "mask"])], {"x": x}, ["y", "mask"], opset
    )
    y, mask = onnx_helpers.run_executor(model, {"x": x})
    np.testing.assert_array_equal(y.numpy(), x)
    assert mask.dtype == torch.bool and bool(mask.all())


def test_dropout_with_ratio_input(onnx_helpers):
    onnx_helpers.check_node("Dropout", {"x": randn(3, 3), "r": np.array(0.5, np.float32)})


def test_float64_compute_dtype_makes_constants_float64():
    node = helper.make_node("Constant", [], ["c"], value_float=1.5)
    add = helper.make_node("Add", ["x", "c"], ["y"])
    graph = helper.make_graph(
        [node, add], "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])],
        [helper.make_empty_tensor_value_info("y")],
    )
    runnable, _ = build_runnable(helper.make_model(graph))
    runnable.to("cpu", torch.float64)
    y = runnable.forward({"x": torch.zeros(2)})["y"]
    assert y.dtype == torch.float64
    assert y.tolist() == [1.5, 1.5]
