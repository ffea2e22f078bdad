"""Normalization ops against onnxruntime; BatchNormalization in both norm modes."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from onnx import helper


def randn(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def bn_inputs(channels: int, spatial: tuple[int, ...] = (4, 5)) -> dict[str, np.ndarray]:
    return {
        "x": randn(3, channels, *spatial) * 2 + 1,
        "scale": randn(channels, seed=1),
        "bias": randn(channels, seed=2),
        "mean": randn(channels, seed=3),
        "var": np.abs(randn(channels, seed=4)) + 0.5,
    }


@pytest.mark.parametrize("opset", [7, 9, 15])
@pytest.mark.parametrize("spatial", [(4, 5), (), (6,)])
def test_batch_norm_running_mode_matches_inference(onnx_helpers, opset, spatial):
    onnx_helpers.check_node(
        "BatchNormalization", bn_inputs(3, spatial), {"epsilon": 1e-3}, opset=opset
    )


def test_batch_norm_batch_mode_uses_batch_statistics(onnx_helpers):
    inputs = bn_inputs(3)
    model = onnx_helpers.make_model(
        [helper.make_node("BatchNormalization", list(inputs), ["y"])], inputs, ["y"], 15
    )
    (y,) = onnx_helpers.run_executor(model, inputs, norm_mode="batch")
    x = torch.from_numpy(inputs["x"])
    expected = torch.nn.functional.batch_norm(
        x, None, None, torch.from_numpy(inputs["scale"]), torch.from_numpy(inputs["bias"]),
        training=True, eps=1e-5,
    )
    torch.testing.assert_close(y, expected, rtol=1e-5, atol=1e-5)


def test_batch_norm_batch_mode_matches_ort_training_mode(onnx_helpers):
    inputs = bn_inputs(4, (3,))
    outputs = ["y", "running_mean", "running_var"]
    node = helper.make_node("BatchNormalization", list(inputs), outputs, training_mode=1)
    model = onnx_helpers.make_model([node], inputs, outputs, 15)
    want = onnx_helpers.run_ort(model, inputs)[0]
    got = onnx_helpers.run_executor(model, inputs, norm_mode="batch")[0]
    assert onnx_helpers.relative_error(got.numpy(), want) < 1e-5
    # a training-mode node keeps batch statistics in the parity ('running') mode too
    got_running = onnx_helpers.run_executor(model, inputs, norm_mode="running")[0]
    assert onnx_helpers.relative_error(got_running.numpy(), want) < 1e-5


def test_batch_norm_per_activation_opset_7(onnx_helpers):
    inputs = {
        "x": randn(4, 2, 3), "scale": randn(2, 3, seed=1), "bias": randn(2, 3, seed=2),
        "mean": randn(2, 3, seed=3), "var": np.abs(randn(2, 3, seed=4)) + 0.5,
    }
    model = onnx_helpers.make_model(
        [helper.make_node("BatchNormalization", list(inputs), ["y"], spatial=0)], inputs, ["y"], 7
    )
    (y,) = onnx_helpers.run_executor(model, inputs, norm_mode="running")
    normalized = (inputs["x"] - inputs["mean"]) / np.sqrt(inputs["var"] + 1e-5)
    np.testing.assert_allclose(y.numpy(), normalized * inputs["scale"] + inputs["bias"], rtol=1e-5)


def test_instance_norm(onnx_helpers):
    inputs = {"x": randn(2, 3, 4, 5), "s": randn(3, seed=1), "b": randn(3, seed=2)}
    onnx_helpers.check_node("InstanceNormalization", inputs, {"epsilon": 1e-4})


@pytest.mark.parametrize("attrs", [{}, {"axis": 1}, {"axis": -2, "epsilon": 1e-3}])
def test_layer_norm(onnx_helpers, attrs):
    axis = attrs.get("axis", -1)
    shape = (2, 3, 4)[axis:]
    inputs = {"x": randn(2, 3, 4), "s": randn(*shape, seed=1), "b": randn(*shape, seed=2)}
    onnx_helpers.check_node("LayerNormalization", inputs, attrs, outputs=3)


def test_layer_norm_without_bias(onnx_helpers):
    onnx_helpers.check_node("LayerNormalization", {"x": randn(2, 5), "s": randn(5, seed=1)})


def test_image_scaler(onnx_helpers):
    x = randn(2, 3, 4, 4)
    node = helper.make_node("ImageScaler", ["x"], ["y"], scale=0.5, bias=[1.0, 2.0, 3.0])
    (y,) = onnx_helpers.run_executor(onnx_helpers.make_model([node], {"x": x}, ["y"], 7), {"x": x})
    expected = x * 0.5 + np.array([1.0, 2.0, 3.0], np.float32).reshape(1, 3, 1, 1)
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-6)
