"""OnnxRunnable behaviour: graph handling, diagnostics, taps, layer functions, devices."""
from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper

from gradlint.errors import ModelLoadError, UsageError
from gradlint.loaders.onnx.executor import build_runnable
from gradlint.loaders.onnx.interpreter import OnnxExecutionError
from gradlint.model import Layer, LayerKind


def randn(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def value(name: str, shape=None, elem=TensorProto.FLOAT) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, elem, shape)


def two_layer_model(shuffled: bool = False) -> onnx.ModelProto:
    """x[2,3] -> MatMul W1 -> Add(const) -> Relu -> Reshape(Shape-derived) -> MatMul W2 -> y."""
    nodes = [
        helper.make_node("MatMul", ["x", "W1"], ["h"], name="fc1"),
        helper.make_node("Constant", [], ["b1"], name="bias1", value=numpy_helper.from_array(
            randn(4, seed=5))),
        helper.make_node("Add", ["h", "b1"], ["hb"], name="add1"),
        helper.make_node("Relu", ["hb"], ["a"], name="relu1"),
        helper.make_node("Shape", ["a"], ["a_shape"], name="shape"),
        helper.make_node("Reshape", ["a", "a_shape"], ["a2"], name="reshape"),
        helper.make_node("MatMul", ["a2", "W2"], ["y"], name="fc2"),
    ]
    if shuffled:
        nodes = nodes[::-1]
    graph = helper.make_graph(
        nodes, "g", [value("x", [2, 3])], [value("y", [2, 5])],
        [numpy_helper.from_array(randn(3, 4, seed=1), "W1"),
         numpy_helper.from_array(randn(4, 5, seed=2), "W2")],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


LAYERS = (
    Layer("fc1", LayerKind.LINEAR, nodes=("fc1", "bias1", "add1", "relu1"), output="a"),
    Layer("fc2", LayerKind.LINEAR, nodes=("reshape", "fc2"), output="y"),
)


def test_unsorted_nodes_run_like_sorted(onnx_helpers):
    feeds = {"x": randn(2, 3)}
    (want,) = onnx_helpers.run_ort(two_layer_model(), feeds)
    (got,) = onnx_helpers.run_executor(two_layer_model(shuffled=True), feeds)
    assert onnx_helpers.relative_error(got.numpy(), want) < 1e-6


def test_cycle_is_a_load_error():
    nodes = [helper.make_node("Relu", ["b"], ["a"]), helper.make_node("Relu", ["a"], ["b"])]
    graph = helper.make_graph(nodes, "g", [value("x", [1])], [value("a", [1])])
    with pytest.raises(ModelLoadError, match="cycle"):
        build_runnable(helper.make_model(graph))


def test_initializer_listed_as_input_is_default_but_overridable():
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "w"], ["y"])], "g", [value("x", [2]), value("w", [2])],
        [value("y", [2])], [numpy_helper.from_array(np.ones(2, np.float32), "w")],
    )
    runnable, _ = build_runnable(helper.make_model(graph))
    assert runnable.graph_inputs == ("x",)
    x = torch.zeros(2)
    assert runnable.forward({"x": x})["y"].tolist() == [1.0, 1.0]
    assert runnable.forward({"x": x, "w": torch.full((2,), 3.0)})["y"].tolist() == [3.0, 3.0]


def test_missing_input_is_a_usage_error():
    runnable, _ = build_runnable(two_layer_model())
    with pytest.raises(UsageError, match="'x'"):
        runnable.forward({})


def test_unsupported_ops_reported_per_node_including_subgraphs_and_other_domains():
    then = helper.make_graph([helper.make_node("FancyOp", ["x"], ["t"])], "then", [],
                             [value("t")])
    els = helper.make_graph([helper.make_node("Relu", ["x"], ["e"])], "else", [], [value("e")])
    nodes = [
        helper.make_node("If", ["c"], ["z"], name="branch", then_branch=then, else_branch=els),
        helper.make_node("ZipMap", ["z"], ["m"], domain="ai.onnx.ml", classlabels_int64s=[0]),
        helper.make_node("Relu", ["z"], ["y"]),
    ]
    graph = helper.make_graph(nodes, "g", [value("x", [2]), value("c", [], TensorProto.BOOL)],
                              [value("y"), value("m")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid("ai.onnx.ml", 3)])
    runnable, diagnostics = build_runnable(model)
    assert runnable is None
    found = {(d.kind, d.op_type, d.node) for d in diagnostics}
    assert found == {("unsupported-op", "FancyOp", "branch/then_branch/FancyOp_0"),
                     ("unsupported-op", "ZipMap", "ZipMap_1")}


def test_op_failure_names_the_node():
    graph = helper.make_graph([helper.make_node("MatMul", ["x", "x"], ["y"], name="bad")], "g",
                              [value("x", [2, 3])], [value("y")])
    runnable, _ = build_runnable(helper.make_model(graph))
    with pytest.raises(OnnxExecutionError, match="bad"):
        runnable.forward({"x": torch.zeros(2, 3)})


def test_local_functions_are_inlined(onnx_helpers):
    function = helper.make_function(
        "local", "Twice", ["a"], ["b"], [helper.make_node("Add", ["a", "a"], ["b"])],
        [helper.make_opsetid("", 17)],
    )
    graph = helper.make_graph([helper.make_node("Twice", ["x"], ["y"], domain="local")], "g",
                              [value("x", [3])], [value("y", [3])])
    model = helper.make_model(graph, functions=[function], opset_imports=[
        helper.make_opsetid("", 17), helper.make_opsetid("local", 1)])
    (y,) = onnx_helpers.run_executor(model, {"x": np.arange(3, dtype=np.float32)})
    assert y.tolist() == [0.0, 2.0, 4.0]


def test_taps_see_each_layer_inputs_and_can_replace_outputs():
    runnable, _ = build_runnable(two_layer_model(), LAYERS)
    seen = []

    def tap(name, inputs, output):
        seen.append((name, [tuple(t.shape) for t in inputs], tuple(output.shape)))
        return torch.zeros_like(output) if name == "fc1" else output

    y = runnable.forward({"x": torch.randn(2, 3)}, tap=tap)["y"]
    # fc1 reads only x (W1 and the Constant bias are not activations); fc2 reads a, not a_shape
    assert seen == [("fc1", [(2, 3)], (2, 4)), ("fc2", [(2, 4)], (2, 5))]
    assert torch.count_nonzero(y) == 0


def test_layer_function_is_pure_and_matches_forward():
    runnable, _ = build_runnable(two_layer_model(), LAYERS)
    captured = {}
    runnable.forward({"x": torch.randn(2, 3)},
                     tap=lambda n, ins, out: captured.setdefault(n, (ins, out))[1])
    inputs, output = captured["fc2"]
    fc2 = runnable.layer_function("fc2")
    torch.testing.assert_close(fc2(*inputs), output)
    tangent = torch.randn(2, 4)
    _, jvp_out = torch.func.jvp(fc2, (inputs[0],), (tangent,))
    w2 = dict(runnable.named_parameters())["W2"]
    torch.testing.assert_close(jvp_out, tangent @ w2)
    _, vjp_fn = torch.func.vjp(runnable.layer_function("fc1"), *captured["fc1"][0])
    (grad_x,) = vjp_fn(torch.ones(2, 4))
    assert grad_x.shape == (2, 3)


def test_layer_function_before_forward_is_a_usage_error():
    runnable, _ = build_runnable(two_layer_model(), LAYERS)
    with pytest.raises(UsageError, match="forward"):
        runnable.layer_function("fc1")(torch.zeros(2, 3))


def test_parameters_get_gradients_in_float64():
    runnable, _ = build_runnable(two_layer_model())
    runnable.to("cpu", torch.float64)
    params = dict(runnable.named_parameters())
    assert set(params) == {"W1", "W2"}
    for tensor in params.values():
        assert tensor.dtype == torch.float64 and tensor.is_leaf
        tensor.requires_grad_(True)
    y = runnable.forward({"x": torch.randn(2, 3)})["y"]
    assert y.dtype == torch.float64
    y.sum().backward()
    assert all(t.grad is not None and t.grad.abs().sum() > 0 for t in params.values())


def test_norm_mode_switches_batch_norm_statistics():
    inputs = [numpy_helper.from_array(a, n) for n, a in [
        ("s", np.ones(2, np.float32)), ("b", np.zeros(2, np.float32)),
        ("m", np.full(2, 5.0, np.float32)), ("v", np.ones(2, np.float32))]]
    graph = helper.make_graph(
        [helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"])], "g",
        [value("x", [4, 2])], [value("y")], inputs,
    )
    runnable, _ = build_runnable(helper.make_model(graph))
    x = torch.randn(4, 2) + 5
    batch = runnable.forward({"x": x})["y"]  # default mode is 'batch'
    torch.testing.assert_close(batch.mean(0), torch.zeros(2), atol=1e-5, rtol=0)
    runnable.set_norm_mode("running")
    running = runnable.forward({"x": x})["y"]
    torch.testing.assert_close(running, (x - 5) / np.sqrt(1 + 1e-5))
    with pytest.raises(UsageError):
        runnable.set_norm_mode("train")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_runs_on_cuda(onnx_helpers):
    feeds = {"x": randn(2, 3)}
    runnable, _ = build_runnable(two_layer_model(), LAYERS)
    runnable.to("cuda")
    out = runnable.forward({"x": torch.from_numpy(feeds["x"])})["y"]
    assert out.device.type == "cuda"
    (want,) = onnx_helpers.run_ort(two_layer_model(), feeds)
    assert onnx_helpers.relative_error(out.cpu().numpy(), want) < 1e-5


def if_model_with_layer_inside() -> tuple[onnx.ModelProto, tuple[Layer, ...]]:
    """y = If(c, then: Tanh(x @ W), else: x); the layer 'inner' lives in the then-branch."""
    then = helper.make_graph(
        [helper.make_node("MatMul", ["x", "W"], ["xw"], name="inner_mm"),
         helper.make_node("Tanh", ["xw"], ["t"], name="inner_tanh")],
        "then", [], [value("t")],
    )
    els = helper.make_graph([helper.make_node("Identity", ["x"], ["e"])], "else", [], [value("e")])
    node = helper.make_node("If", ["c"], ["y"], name="branch", then_branch=then, else_branch=els)
    graph = helper.make_graph(
        [node], "g", [value("x", [2, 3]), value("c", [], TensorProto.BOOL)], [value("y")],
        [numpy_helper.from_array(randn(3, 3, seed=1), "W")],
    )
    layers = (Layer("inner", LayerKind.LINEAR, nodes=("inner_mm", "inner_tanh"), output="t"),)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), layers


def test_taps_fire_inside_subgraphs_and_layer_function_follows_dtype():
    model, layers = if_model_with_layer_inside()
    runnable, _ = build_runnable(model, layers)
    seen = {}
    x = torch.randn(2, 3)
    y = runnable.forward({"x": x, "c": torch.tensor(True)},
                         tap=lambda n, ins, out: seen.setdefault(n, (ins, out))[1] * 2)["y"]
    (inputs, output), = seen.values()
    assert [t.shape for t in inputs] == [(2, 3)]
    torch.testing.assert_close(y, output * 2)  # the tap's replacement flows on
    runnable.to("cpu", torch.float64)
    doubled = runnable.layer_function("inner")(inputs[0].double())
    assert doubled.dtype == torch.float64
    torch.testing.assert_close(doubled.float(), output)


def test_graph_input_layer_is_tapped_first():
    layers = (Layer("x", LayerKind.INPUT, output="x"),) + LAYERS
    runnable, _ = build_runnable(two_layer_model(), layers)
    order = []
    runnable.forward({"x": torch.randn(2, 3)}, tap=lambda n, ins, out: order.append(n) or out)
    assert order == ["x", "fc1", "fc2"]


def test_pow_exponents_are_not_parameters():
    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    from gradlint.loaders.onnx.executor import build_runnable

    graph = helper.make_graph(
        [helper.make_node("Mul", ["x", "w"], ["h"]), helper.make_node("Pow", ["h", "p"], ["y"])],
        "pow",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])],
        [numpy_helper.from_array(np.ones(3, np.float32), "w"), numpy_helper.from_array(np.array(2.0, np.float32), "p")],
    )
    runnable, _ = build_runnable(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]))
    assert [name for name, _ in runnable.named_parameters()] == ["w"]
