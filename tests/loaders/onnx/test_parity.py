"""Parity between the executor and onnxruntime: the measure, the check, the diagnostics."""
from __future__ import annotations

import math

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from gradlint.analysis.facts import ParityResult
from gradlint.loaders.onnx import parity_runtime
from gradlint.loaders.onnx.executor import build_runnable
from gradlint.loaders.onnx.ops import registry
from gradlint.loaders.onnx.parity import (
    OnnxParityResult,
    ParityUnavailable,
    check_parity,
    parity_diagnostics,
    relative_error,
)


def randn(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def mlp_model() -> onnx.ModelProto:
    """x -> MatMul -> BatchNormalization -> Tanh -> MatMul -> y, with stored BN statistics."""
    rng = np.random.default_rng(3)
    weights = {
        "w1": randn(4, 6, seed=1), "w2": randn(6, 3, seed=2),
        "scale": (rng.random(6) + 0.5).astype(np.float32), "bias": randn(6, seed=4),
        "mean": randn(6, seed=5), "var": (rng.random(6) + 0.5).astype(np.float32),
    }
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h"], name="fc1"),
        helper.make_node(
            "BatchNormalization", ["h", "scale", "bias", "mean", "var"], ["n"], name="bn"
        ),
        helper.make_node("Tanh", ["n"], ["t"], name="act"),
        helper.make_node("MatMul", ["t", "w2"], ["y"], name="fc2"),
    ]
    graph = helper.make_graph(
        nodes, "mlp", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [5, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [5, 3])],
        [numpy_helper.from_array(value, name) for name, value in weights.items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def single_node_model(node: onnx.NodeProto, x: np.ndarray, output: str, elem_type: int):
    inputs = [helper.make_tensor_value_info("x", TensorProto.FLOAT, x.shape)]
    outputs = [helper.make_tensor_value_info(output, elem_type, None)]
    graph = helper.make_graph([node], "single", inputs, outputs)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)


def feeds() -> dict[str, torch.Tensor]:
    return {"x": torch.from_numpy(randn(5, 4, seed=9))}


def runnable_for(model: onnx.ModelProto):
    runnable, diagnostics = build_runnable(model)
    assert runnable is not None, diagnostics
    return runnable


def test_relative_error_is_scaled_by_the_largest_reference_value():
    reference = np.array([100.0, 1e-9, -50.0], np.float32)
    ours = reference + np.array([0.0, 1e-6, 0.0], np.float32)
    # elementwise relative error would be ~1000 at the near-zero entry; the measure is 1e-8
    assert relative_error(ours, reference) == pytest.approx(1e-8, rel=1e-3)


def test_relative_error_of_all_zero_reference_uses_the_floor():
    assert relative_error(np.full(3, 1e-13), np.zeros(3)) == pytest.approx(0.1)


def test_relative_error_of_finite_float32_matches_the_float64_definition():
    rng = np.random.default_rng(3)
    reference = rng.standard_normal(10_000).astype(np.float32)
    ours = reference + (1e-5 * rng.standard_normal(10_000)).astype(np.float32)
    exact = np.abs(ours.astype(np.float64) - reference).max() / np.abs(reference.astype(np.float64)).max()
    assert relative_error(ours, reference) == pytest.approx(exact, rel=1e-6)


def test_relative_error_survives_a_float32_overflowing_difference():
    big = np.float32(3e38)
    assert relative_error(np.array([big, -big]), np.array([-big, big], np.float32)) == pytest.approx(2.0)


@pytest.mark.parametrize("ours, reference, expected", [
    (np.ones((2, 3)), np.ones((3, 2)), math.inf),
    (np.array([np.nan, 1.0]), np.array([np.nan, 1.0]), 0.0),
    (np.array([1.0, 1.0]), np.array([np.nan, 1.0]), math.inf),
    (np.array([np.nan, 1.0]), np.array([2.0, 1.0]), math.inf),
    (np.array([np.inf, 2.0]), np.array([np.inf, 1.0]), 1.0),
    (np.array([1, 2, 3, 5]), np.array([1, 2, 3, 4]), 0.25),
    (np.array([True, False]), np.array([True, False]), 0.0),
    (None, np.ones(2), math.inf),
])
def test_relative_error_edge_cases(ours, reference, expected):
    assert relative_error(ours, reference) == expected


def test_parity_passes_and_uses_stored_statistics():
    model = mlp_model()
    runnable = runnable_for(model)
    runnable.set_norm_mode("batch")
    result = check_parity(model, runnable, feeds())
    assert isinstance(result, ParityResult) and result.passed
    assert set(result.per_output) == {"y"} and result.worst_output == "y"
    assert result.max_relative_error < 1e-6
    assert runnable.norm_mode == "batch"  # restored
    assert parity_diagnostics(result) == ()


def test_parity_restores_device_and_dtype():
    model = mlp_model()
    runnable = runnable_for(model).to("cpu", torch.float64)
    result = check_parity(model, runnable, feeds())
    assert result.passed
    assert runnable.float_dtype == torch.float64
    assert next(iter(dict(runnable.named_parameters()).values())).dtype == torch.float64


def test_batch_statistics_would_not_match(monkeypatch):
    """Guard that the check is sensitive: in batch mode BN gives a different function."""
    model = mlp_model()
    runnable = runnable_for(model)
    runnable.set_norm_mode("batch")
    with torch.no_grad():
        ours = runnable.forward(feeds())["y"].numpy()
    reference = parity_runtime.run_onnxruntime(model, feeds())["y"]
    assert relative_error(ours, reference) > 1e-2


def test_mismatch_names_the_worst_output_and_the_first_diverging_node(monkeypatch):
    correct_tanh = registry.lookup("Tanh")
    def wrong_tanh(ctx, inputs, attrs):
        return torch.tanh(inputs[0]) * 1.01

    monkeypatch.setitem(registry._TABLE, ("Tanh", ""), wrong_tanh)
    model = mlp_model()
    result = check_parity(model, runnable_for(model), feeds(), tolerance=1e-4)
    assert not result.passed and 1e-3 < result.max_relative_error < 0.1
    assert result.divergence is not None
    divergence = result.divergence
    assert (divergence.node, divergence.op_type, divergence.value) == ("act", "Tanh", "t")
    (diagnostic,) = parity_diagnostics(result)
    assert diagnostic.kind == "parity-mismatch"
    assert diagnostic.node == "act" and diagnostic.op_type == "Tanh"
    assert "'y'" in diagnostic.message and "act" in diagnostic.message
    assert diagnostic.details["first_divergent_value"] == "t"
    assert correct_tanh is not registry.lookup("Tanh")


def test_plain_parity_result_still_gets_a_diagnostic():
    result = ParityResult(max_relative_error=0.5, tolerance=1e-4, per_output={"a": 1e-6, "b": 0.5})
    (diagnostic,) = parity_diagnostics(result)
    assert diagnostic.node is None and diagnostic.details["output"] == "b"
    assert "0.5" in diagnostic.message


def test_onnxruntime_refusal_is_parity_unavailable():
    """onnxruntime rejects even LRN windows; the executor follows the spec and runs them."""
    x = randn(1, 4, 2, 2)
    node = helper.make_node("LRN", ["x"], ["y"], size=2)
    model = single_node_model(node, x, "y", TensorProto.FLOAT)
    with pytest.raises(ParityUnavailable, match="size"):
        check_parity(model, runnable_for(model), {"x": torch.from_numpy(x)})


def test_unloaded_external_data_is_parity_unavailable():
    model = mlp_model()
    runnable = runnable_for(model)
    tensor = model.graph.initializer[0]
    tensor.ClearField("raw_data")
    tensor.ClearField("float_data")
    tensor.data_location = TensorProto.EXTERNAL
    tensor.external_data.add(key="location", value="weights.bin")
    with pytest.raises(ParityUnavailable, match="external"):
        check_parity(model, runnable, feeds())


def test_missing_input_is_parity_unavailable():
    model = mlp_model()
    with pytest.raises(ParityUnavailable, match="'x'"):
        check_parity(model, runnable_for(model), {})


def test_models_past_the_serialization_limit_go_through_a_file(monkeypatch):
    monkeypatch.setattr(parity_runtime, "_SERIALIZE_LIMIT", 0)
    model = mlp_model()
    assert check_parity(model, runnable_for(model), feeds()).passed


def test_large_weights_handed_over_in_memory_give_the_serialized_models_outputs():
    x = randn(4, 64)
    node = helper.make_node("MatMul", ["x", "w"], ["y"])
    model = single_node_model(node, x, "y", TensorProto.FLOAT)
    model.graph.initializer.append(numpy_helper.from_array(randn(64, 64, seed=1), "w"))
    session, weights = parity_runtime._session(model)
    assert len(weights) == 1  # 4096 elements: over the light copy's limit
    whole = ort.InferenceSession(model.SerializeToString(), parity_runtime.session_options())
    expected = whole.run(None, {"x": x})[0]
    assert parity_runtime.run_onnxruntime(model, {"x": torch.from_numpy(x)})["y"].tobytes() == expected.tobytes()


def test_two_onnxruntime_threads_compute_what_one_does(monkeypatch):
    """The reference must not depend on the thread count it was tuned to (see session_options)."""
    conv = helper.make_node("Conv", ["x", "w"], ["c"], pads=[1, 1, 1, 1])
    gemm = helper.make_node("MatMul", ["f", "m"], ["y"])
    nodes = [conv, helper.make_node("Relu", ["c"], ["r"]), helper.make_node("Flatten", ["r"], ["f"]), gemm]
    graph = helper.make_graph(
        nodes, "convnet", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [8, 16, 24, 24])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(randn(32, 16, 3, 3, seed=1) * 0.1, "w"),
         numpy_helper.from_array(randn(32 * 24 * 24, 64, seed=2) * 0.01, "m")],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], ir_version=8)
    feeds = {"x": torch.from_numpy(randn(8, 16, 24, 24, seed=3))}
    assert parity_runtime.session_options().intra_op_num_threads == 2
    two = parity_runtime.run_onnxruntime(model, feeds)["y"]
    base = parity_runtime.session_options

    def one_thread():
        options = base()
        options.intra_op_num_threads = 1
        return options

    monkeypatch.setattr(parity_runtime, "session_options", one_thread)
    assert parity_runtime.run_onnxruntime(model, feeds)["y"].tobytes() == two.tobytes()


def test_integer_outputs_compare_exactly():
    x = randn(3, 5)
    node = helper.make_node("ArgMax", ["x"], ["i"], axis=1)
    model = single_node_model(node, x, "i", TensorProto.INT64)
    result = check_parity(model, runnable_for(model), {"x": torch.from_numpy(x)})
    assert isinstance(result, OnnxParityResult) and result.per_output == {"i": 0.0}


def test_a_newer_ir_version_than_onnxruntime_reads_is_checked_at_an_older_one():
    model = mlp_model()
    model.ir_version = 99
    result = check_parity(model, runnable_for(model), feeds())
    assert result.passed
