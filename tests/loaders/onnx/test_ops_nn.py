"""MatMul, Gemm and Conv against onnxruntime: transposes, optional bias, every padding form."""
from __future__ import annotations

import numpy as np
import pytest


def randn(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize(
    "a, b", [((3, 4), (4, 5)), ((2, 3, 4), (4, 5)), ((2, 1, 3, 4), (3, 4, 2)), ((4,), (4, 3)),
             ((2, 4), (4,))],
)
def test_matmul_numpy_semantics(onnx_helpers, a, b):
    onnx_helpers.check_node("MatMul", {"a": randn(*a), "b": randn(*b, seed=1)})


@pytest.mark.parametrize(
    "attrs", [{}, {"transA": 1}, {"transB": 1, "alpha": 0.5, "beta": 2.0}, {"transA": 1, "transB": 1}]
)
def test_gemm(onnx_helpers, attrs):
    a = randn(4, 3) if attrs.get("transA") else randn(3, 4)
    b = randn(5, 4, seed=1) if attrs.get("transB") else randn(4, 5, seed=1)
    onnx_helpers.check_node("Gemm", {"a": a, "b": b, "c": randn(5, seed=2)}, attrs, opset=13)


def test_gemm_without_c(onnx_helpers):
    onnx_helpers.check_node("Gemm", {"a": randn(2, 3), "b": randn(3, 4, seed=1)}, opset=13)


@pytest.mark.parametrize(
    "attrs",
    [
        {},
        {"pads": [1, 1, 1, 1], "strides": [2, 2]},
        {"pads": [0, 1, 2, 1], "dilations": [2, 1]},
        {"auto_pad": "SAME_UPPER", "strides": [2, 2]},
        {"auto_pad": "SAME_LOWER", "strides": [2, 2]},
        {"auto_pad": "VALID", "strides": [2, 1]},
    ],
)
def test_conv2d_padding_forms(onnx_helpers, attrs):
    inputs = {"x": randn(2, 4, 7, 6), "w": randn(3, 4, 3, 3, seed=1), "b": randn(3, seed=2)}
    onnx_helpers.check_node("Conv", inputs, {"kernel_shape": [3, 3], **attrs}, tol=1e-5)


@pytest.mark.parametrize(
    "attrs",
    [{"strides": [2, 2]}, {"strides": [3, 2], "pads": [1, 0, 0, 2]}, {"auto_pad": "SAME_UPPER", "strides": [2, 2]}],
)
def test_strided_pointwise_conv(onnx_helpers, attrs):
    """1x1 kernels with strides run as a slice and a stride-1 convolution."""
    inputs = {"x": randn(2, 4, 7, 6), "w": randn(3, 4, 1, 1, seed=1), "b": randn(3, seed=2)}
    onnx_helpers.check_node("Conv", inputs, {"kernel_shape": [1, 1], **attrs}, tol=1e-5)


def test_conv_groups_without_bias_and_kernel_shape(onnx_helpers):
    inputs = {"x": randn(1, 6, 5, 5), "w": randn(6, 2, 3, 3, seed=1)}
    onnx_helpers.check_node("Conv", inputs, {"group": 3, "pads": [1, 1, 1, 1]})


def test_conv1d_and_conv3d(onnx_helpers):
    onnx_helpers.check_node(
        "Conv", {"x": randn(2, 3, 16), "w": randn(4, 3, 5, seed=1)},
        {"strides": [3], "pads": [2, 1]},
    )
    onnx_helpers.check_node(
        "Conv", {"x": randn(1, 2, 4, 5, 6), "w": randn(3, 2, 2, 3, 3, seed=1)},
        {"pads": [1, 0, 1, 1, 0, 1]},
    )
