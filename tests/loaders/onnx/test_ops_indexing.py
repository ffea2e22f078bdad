"""Slice, Gather and Pad against onnxruntime across their opset forms."""
from __future__ import annotations

import numpy as np
import pytest

BIG = np.iinfo(np.int64).max


def randn(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def i64(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.int64)


@pytest.mark.parametrize(
    "starts, ends, axes, steps",
    [
        ((1,), (3,), None, None),
        ((0, 1), (2, -1), (0, 2), None),
        ((-1,), (-BIG,), (1,), (-1,)),
        ((4,), (0,), (2,), (-2,)),
        ((0,), (BIG,), (-1,), (3,)),
        ((10,), (20,), (0,), None),
        ((3,), (0,), (1,), (2,)),  # empty: start past end with a positive step
        ((0,), (3,), (1,), (-1,)),  # empty: start before end with a negative step
    ],
)
def test_slice_inputs_form(onnx_helpers, starts, ends, axes, steps):
    inputs = {"x": randn(3, 4, 5), "s": i64(*starts), "e": i64(*ends)}
    inputs["a"] = i64(*axes) if axes is not None else None
    inputs["t"] = i64(*steps) if steps is not None else None
    onnx_helpers.check_node("Slice", inputs, opset=13)


def test_slice_attribute_form(onnx_helpers):
    attrs = {"starts": [1, 0], "ends": [3, -1], "axes": [0, 2]}
    onnx_helpers.check_node("Slice", {"x": randn(3, 4, 5)}, attrs, opset=9)
    onnx_helpers.check_node("Slice", {"x": randn(3, 4)}, {"starts": [1], "ends": [2]}, opset=9)


@pytest.mark.parametrize(
    "indices, axis",
    [(i64(0, 2), 0), (i64(-1), 1), (np.array(1, np.int64), 1), (i64(0, 1, 1, 0).reshape(2, 2), 2),
     (np.array([1, -3], np.int32), -1)],
)
def test_gather(onnx_helpers, indices, axis):
    onnx_helpers.check_node("Gather", {"x": randn(3, 4, 3), "i": indices}, {"axis": axis})


def test_gather_default_axis_embedding(onnx_helpers):
    onnx_helpers.check_node("Gather", {"x": randn(10, 4), "i": i64(3, 9, 0, 3).reshape(2, 2)})


@pytest.mark.parametrize("mode", ["constant", "reflect", "edge"])
def test_pad_attribute_form(onnx_helpers, mode):
    attrs = {"mode": mode, "pads": [0, 1, 2, 0, 2, 1]}
    if mode == "constant":
        attrs["value"] = 1.5
    onnx_helpers.check_node("Pad", {"x": randn(2, 4, 3)}, attrs, opset=9)


@pytest.mark.parametrize("mode", ["constant", "reflect", "edge"])
def test_pad_input_form(onnx_helpers, mode):
    inputs = {"x": randn(2, 3, 4), "p": i64(0, 2, 1, 0, 1, 3)}
    inputs["v"] = np.array(-2.0, np.float32) if mode == "constant" else None
    onnx_helpers.check_node("Pad", inputs, {"mode": mode}, opset=13)


def test_pad_negative_pads_crop(onnx_helpers):
    inputs = {"x": randn(3, 5), "p": i64(-1, 2, 0, -2)}
    onnx_helpers.check_node("Pad", inputs, {"mode": "constant"}, opset=13)
    onnx_helpers.check_node("Pad", inputs, {"mode": "edge"}, opset=13)


def test_pad_axes_and_wrap(onnx_helpers):
    inputs = {"x": randn(2, 3, 4), "p": i64(1, 2, 3, 1), "v": None, "a": i64(-1, 1)}
    onnx_helpers.check_node("Pad", inputs, {"mode": "wrap"}, opset=19)
    onnx_helpers.check_node("Pad", inputs, {"mode": "reflect"}, opset=18)
