"""Pooling against onnxruntime: pads, ceil_mode, count_include_pad, dilations, indices."""
from __future__ import annotations

import numpy as np
import pytest


def randn(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


GEOMETRIES = [
    {"kernel_shape": [2, 2]},
    {"kernel_shape": [3, 3], "strides": [2, 2]},
    {"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 0, 1, 2]},
    {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1},
    {"kernel_shape": [3, 2], "strides": [2, 2], "pads": [1, 1, 1, 1], "ceil_mode": 1},
    {"kernel_shape": [3, 3], "strides": [2, 2], "auto_pad": "SAME_UPPER"},
    {"kernel_shape": [2, 3], "strides": [1, 2], "auto_pad": "SAME_LOWER"},
]


@pytest.mark.parametrize("attrs", GEOMETRIES)
def test_max_pool(onnx_helpers, attrs):
    onnx_helpers.check_node("MaxPool", {"x": randn(2, 3, 8, 7)}, attrs, opset=12)


def test_max_pool_dilations_and_opset_8(onnx_helpers):
    attrs = {"kernel_shape": [2, 2], "dilations": [2, 2], "strides": [1, 2]}
    onnx_helpers.check_node("MaxPool", {"x": randn(1, 2, 7, 7)}, attrs, opset=12)
    onnx_helpers.check_node("MaxPool", {"x": randn(1, 2, 6, 6)}, {"kernel_shape": [2, 2]}, opset=8)


@pytest.mark.parametrize("storage_order", [0, 1])
def test_max_pool_indices(onnx_helpers, storage_order):
    attrs = {"kernel_shape": [2, 2], "strides": [2, 2], "pads": [1, 1, 0, 0],
             "storage_order": storage_order}
    onnx_helpers.check_node("MaxPool", {"x": randn(2, 3, 5, 4)}, attrs, opset=12, outputs=2)


def test_max_pool_1d(onnx_helpers):
    attrs = {"kernel_shape": [3], "strides": [2], "pads": [1, 1]}
    onnx_helpers.check_node("MaxPool", {"x": randn(2, 3, 9)}, attrs, opset=12)


@pytest.mark.parametrize("attrs", GEOMETRIES)
@pytest.mark.parametrize("count_include_pad", [0, 1])
def test_average_pool(onnx_helpers, attrs, count_include_pad):
    attrs = {**attrs, "count_include_pad": count_include_pad}
    onnx_helpers.check_node("AveragePool", {"x": randn(2, 3, 8, 7)}, attrs, opset=12)


def test_average_pool_dilations_opset_19(onnx_helpers):
    attrs = {"kernel_shape": [2, 2], "dilations": [2, 1], "pads": [1, 1, 0, 1]}
    onnx_helpers.check_node("AveragePool", {"x": randn(1, 2, 7, 6)}, attrs, opset=19)


def test_average_pool_3d(onnx_helpers):
    attrs = {"kernel_shape": [2, 2, 2], "strides": [2, 2, 2]}
    onnx_helpers.check_node("AveragePool", {"x": randn(1, 2, 4, 4, 6)}, attrs, opset=12)


@pytest.mark.parametrize("op", ["GlobalAveragePool", "GlobalMaxPool"])
@pytest.mark.parametrize("shape", [(2, 3, 5), (2, 3, 4, 5)])
def test_global_pools(onnx_helpers, op, shape):
    onnx_helpers.check_node(op, {"x": randn(*shape)})
