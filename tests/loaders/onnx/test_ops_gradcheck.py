"""Finite-difference gradient checks (float64) through a sample of ops, via the executor."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from onnx import helper

from gradlint.loaders.onnx.executor import build_runnable


def randn(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def i64(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.int64)


def gradcheck_node(onnx_helpers, op, inputs, attrs=None, opset=17, outputs=1, norm="batch"):
    """gradcheck every float input of one node in float64; other inputs are held fixed."""
    names = [n if v is not None else "" for n, v in inputs.items()]
    feeds = {n: v for n, v in inputs.items() if v is not None}
    out_names = [f"o{i}" for i in range(outputs)]
    node = helper.make_node(op, names, out_names, **(attrs or {}))
    runnable, diagnostics = build_runnable(onnx_helpers.make_model([node], feeds, out_names, opset))
    assert runnable is not None, diagnostics
    runnable.to("cpu", torch.float64)
    runnable.set_norm_mode(norm)
    float_names = [n for n, v in feeds.items() if v.dtype == np.float32]
    fixed = {n: torch.from_numpy(v) for n, v in feeds.items() if n not in float_names}

    def function(*tensors):
        result = runnable.forward({**fixed, **dict(zip(float_names, tensors))})
        return tuple(result[name] for name in out_names)

    tensors = [torch.from_numpy(feeds[n]).double().requires_grad_() for n in float_names]
    assert torch.autograd.gradcheck(function, tensors, eps=1e-6, atol=1e-5)


def test_matmul(onnx_helpers):
    gradcheck_node(onnx_helpers, "MatMul", {"a": randn(2, 3, 4), "b": randn(4, 2, seed=1)})


def test_gemm(onnx_helpers):
    inputs = {"a": randn(3, 2), "b": randn(4, 3, seed=1), "c": randn(4, seed=2)}
    gradcheck_node(onnx_helpers, "Gemm", inputs, {"transA": 1, "transB": 1, "alpha": 0.7})


def test_conv(onnx_helpers):
    inputs = {"x": randn(1, 2, 5, 4), "w": randn(3, 2, 3, 2, seed=1), "b": randn(3, seed=2)}
    gradcheck_node(onnx_helpers, "Conv", inputs, {"pads": [1, 0, 0, 1], "strides": [2, 1]})


def test_strided_pointwise_conv(onnx_helpers):
    inputs = {"x": randn(1, 2, 5, 4), "w": randn(3, 2, 1, 1, seed=1), "b": randn(3, seed=2)}
    gradcheck_node(onnx_helpers, "Conv", inputs, {"pads": [1, 0, 0, 1], "strides": [2, 3]})


def test_softmax(onnx_helpers):
    gradcheck_node(onnx_helpers, "Softmax", {"x": randn(2, 5)}, {"axis": 0})


def test_layer_norm(onnx_helpers):
    inputs = {"x": randn(2, 3, 4), "s": randn(4, seed=1), "b": randn(4, seed=2)}
    gradcheck_node(onnx_helpers, "LayerNormalization", inputs)


def test_batch_norm_batch_mode(onnx_helpers):
    inputs = {"x": randn(3, 2, 3), "s": randn(2, seed=1), "b": randn(2, seed=2),
              "m": randn(2, seed=3), "v": np.abs(randn(2, seed=4)) + 1}
    gradcheck_node(onnx_helpers, "BatchNormalization", inputs, opset=15, norm="batch")


def test_lstm(onnx_helpers):
    inputs = {"x": randn(3, 2, 2), "w": randn(1, 12, 2, seed=1), "r": randn(1, 12, 3, seed=2),
              "b": randn(1, 24, seed=3), "seq": None, "h0": randn(1, 2, 3, seed=4),
              "c0": randn(1, 2, 3, seed=5), "p": randn(1, 9, seed=6)}
    gradcheck_node(onnx_helpers, "LSTM", inputs, {"hidden_size": 3}, opset=14, outputs=3)


def test_gru_bidirectional(onnx_helpers):
    inputs = {"x": randn(3, 2, 2), "w": randn(2, 9, 2, seed=1), "r": randn(2, 9, 3, seed=2),
              "b": randn(2, 18, seed=3)}
    attrs = {"hidden_size": 3, "direction": "bidirectional", "linear_before_reset": 1}
    gradcheck_node(onnx_helpers, "GRU", inputs, attrs, opset=14, outputs=2)


def test_erf(onnx_helpers):
    gradcheck_node(onnx_helpers, "Erf", {"x": randn(6)})


def test_pow_base_and_exponent(onnx_helpers):
    base = np.abs(randn(4)) + 0.5
    gradcheck_node(onnx_helpers, "Pow", {"a": base, "b": randn(4, seed=1)})


def test_slice(onnx_helpers):
    inputs = {"x": randn(4, 5), "s": i64(3, 0), "e": i64(0, 5), "a": i64(0, 1), "t": i64(-1, 2)}
    gradcheck_node(onnx_helpers, "Slice", inputs, opset=13)


def test_gather(onnx_helpers):
    gradcheck_node(onnx_helpers, "Gather", {"x": randn(5, 3), "i": i64(4, 0, 4)})


def test_concat(onnx_helpers):
    gradcheck_node(onnx_helpers, "Concat", {"a": randn(2, 2), "b": randn(2, 3, seed=1)},
                   {"axis": 1})


@pytest.mark.parametrize("mode", ["constant", "reflect", "edge"])
def test_pad(onnx_helpers, mode):
    gradcheck_node(onnx_helpers, "Pad", {"x": randn(2, 4), "p": i64(1, 2, 0, 2)},
                   {"mode": mode}, opset=13)


def test_max_pool(onnx_helpers):
    attrs = {"kernel_shape": [2, 2], "strides": [1, 2], "pads": [1, 1, 0, 0]}
    gradcheck_node(onnx_helpers, "MaxPool", {"x": randn(1, 2, 4, 5)}, attrs, opset=12)


def test_average_pool_ceil_mode(onnx_helpers):
    attrs = {"kernel_shape": [3, 3], "strides": [2, 2], "ceil_mode": 1}
    gradcheck_node(onnx_helpers, "AveragePool", {"x": randn(1, 1, 6, 6)}, attrs, opset=12)
