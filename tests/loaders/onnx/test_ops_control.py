"""If and Loop against onnxruntime: outer-scope reads, trip counts, conditions, scan outputs."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from onnx import TensorProto, helper

from gradlint.loaders.onnx.executor import build_runnable


def randn(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def branch(name: str, op: str, output: str) -> object:
    """A subgraph applying `op` to the outer-scope value 'x'."""
    return helper.make_graph(
        [helper.make_node(op, ["x"], [output])], name, [],
        [helper.make_empty_tensor_value_info(output)],
    )


def if_model(onnx_helpers):
    node = helper.make_node(
        "If", ["c"], ["y"],
        then_branch=branch("then", "Relu", "t_out"), else_branch=branch("else", "Neg", "e_out"),
    )
    feeds = {"x": randn(3, 4), "c": np.array(True)}
    return onnx_helpers.make_model([node], feeds, ["y"], 13), feeds


@pytest.mark.parametrize("condition", [True, False])
def test_if_picks_branch_reading_outer_scope(onnx_helpers, condition):
    model, feeds = if_model(onnx_helpers)
    feeds["c"] = np.array(condition)
    onnx_helpers.assert_matches_ort(model, feeds)


def test_if_is_differentiable_through_the_taken_branch(onnx_helpers):
    model, _ = if_model(onnx_helpers)
    runnable, _ = build_runnable(model)
    x = torch.randn(3, 4, requires_grad=True)
    runnable.forward({"x": x, "c": torch.tensor(False)})["y"].sum().backward()
    torch.testing.assert_close(x.grad, -torch.ones(3, 4))


def loop_body() -> object:
    """acc' = acc * x + i (carried); scan = acc' (stacked); cond' = i < 3."""
    nodes = [
        helper.make_node("Cast", ["i"], ["i_f"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["acc", "x"], ["scaled"]),
        helper.make_node("Add", ["scaled", "i_f"], ["acc_out"]),
        helper.make_node("Identity", ["acc_out"], ["scan_out"]),
        helper.make_node("Constant", [], ["three"], value_int=3),
        helper.make_node("Less", ["i", "three"], ["cond_out"]),
    ]
    inputs = [
        helper.make_tensor_value_info("i", TensorProto.INT64, []),
        helper.make_tensor_value_info("cond_in", TensorProto.BOOL, []),
        helper.make_tensor_value_info("acc", TensorProto.FLOAT, None),
    ]
    outputs = [helper.make_empty_tensor_value_info(n) for n in ("cond_out", "acc_out", "scan_out")]
    return helper.make_graph(nodes, "body", inputs, outputs)


@pytest.mark.parametrize(
    "trips, use_cond", [(6, False), (6, True), (2, True), (0, False)]
)
def test_loop_trip_count_condition_and_scan(onnx_helpers, trips, use_cond):
    inputs = ["m", "cond" if use_cond else "", "acc0"]
    node = helper.make_node("Loop", inputs, ["acc_final", "scans"], body=loop_body())
    feeds = {"x": randn(2, 3) * 0.5, "m": np.array(trips, np.int64), "acc0": randn(2, 3, seed=1)}
    if use_cond:
        feeds["cond"] = np.array(True)
    model = onnx_helpers.make_model([node], feeds, ["acc_final", "scans"], 13)
    if trips == 0:
        (final, _) = onnx_helpers.run_executor(model, feeds)
        np.testing.assert_array_equal(final.numpy(), feeds["acc0"])
        return
    onnx_helpers.assert_matches_ort(model, feeds)


def test_nested_if_inside_if(onnx_helpers):
    inner = helper.make_node(
        "If", ["c2"], ["inner_y"],
        then_branch=branch("t2", "Sigmoid", "t2_out"), else_branch=branch("e2", "Tanh", "e2_out"),
    )
    then = helper.make_graph([inner], "outer_then", [],
                             [helper.make_empty_tensor_value_info("inner_y")])
    node = helper.make_node("If", ["c"], ["y"], then_branch=then,
                            else_branch=branch("outer_else", "Abs", "abs_out"))
    feeds = {"x": randn(4), "c": np.array(True), "c2": np.array(False)}
    model = onnx_helpers.make_model([node], feeds, ["y"], 13)
    onnx_helpers.assert_matches_ort(model, feeds)
