"""build_layer_graph on small graphs built in code: kinds, fans, stats, activations, edges."""
from __future__ import annotations

import math

import numpy as np
import onnx
from onnx import TensorProto, helper
from onnx_graphs import (
    conv_bn_relu, conv_weight, decomposed_layernorm, float_input, int_input, mlp, model,
    residual_block, tensor,
)

from gradlint.loaders.onnx.layers import build_layer_graph
from gradlint.model import LayerGraph, LayerKind

K = LayerKind


def _graph(proto: onnx.ModelProto) -> LayerGraph:
    return build_layer_graph(onnx.shape_inference.infer_shapes(proto))


def _kinds(graph: LayerGraph) -> list[tuple[str, LayerKind]]:
    return [(layer.name, layer.kind) for layer in graph]


def test_mlp_layers_fans_stats_and_chain() -> None:
    graph = _graph(mlp(widths=(8, 16, 16, 4), std=0.3))
    assert _kinds(graph) == [("x", K.INPUT), ("fc0", K.LINEAR), ("fc1", K.LINEAR), ("fc2", K.LINEAR), ("y", K.OUTPUT)]
    fc0, fc1, fc2 = (graph.layer(n) for n in ("fc0", "fc1", "fc2"))
    assert (fc0.fan_in, fc0.fan_out, fc2.fan_in, fc2.fan_out) == (8, 16, 16, 4)
    assert fc0.activation == "relu" and fc2.activation is None
    assert fc0.weight is not None and fc0.weight.shape == (16, 8)
    assert fc0.weight.scaled_std == fc0.weight.std * math.sqrt(8)
    assert 0.2 < fc0.weight.std < 0.4 and fc0.bias_mean == np.float32(0.1)
    assert fc0.nodes == ("/fc0/Gemm", "/act0/Relu") and fc0.output == "a0"
    assert fc2.nodes == ("/fc2/Gemm", "/out/Identity") and fc2.output == "y"
    assert [layer.depth for layer in graph] == [0, 1, 2, 3, 4]
    assert graph.predecessors("fc1") == ["fc0"] and graph.successors("fc2") == ["y"]


def test_conv_batchnorm_relu_is_one_layer() -> None:
    graph = _graph(conv_bn_relu(channels=4))
    assert [layer.kind for layer in graph] == [K.INPUT, K.CONV, K.POOL, K.LINEAR, K.OUTPUT]
    conv = graph.layer("conv")
    assert conv.op_types == ("Conv", "BatchNormalization", "Relu")
    assert (conv.normalization, conv.activation, conv.fan_in, conv.fan_out) == ("batchnorm", "relu", 27, 36)
    assert graph.layer("pool").op_types == ("GlobalAveragePool", "Flatten")
    fc = graph.layer("fc")  # Gemm without transB: weight is [in, out]
    assert (fc.fan_in, fc.fan_out) == (4, 2) and fc.weight is not None and fc.weight.std == 0.0


def test_residual_add_merges_two_paths() -> None:
    graph = _graph(residual_block())
    assert _kinds(graph) == [("x", K.INPUT), ("block.conv1", K.CONV), ("block.conv2", K.CONV),
                             ("block", K.ADD), ("y", K.OUTPUT)]
    merge = graph.layer("block")
    assert sorted(graph.predecessors("block")) == ["block.conv2", "x"]
    assert merge.activation == "relu" and merge.op_types == ("Add", "Relu") and merge.depth == 3


def test_decomposed_layernorm_is_one_norm_layer() -> None:
    graph = _graph(decomposed_layernorm())
    assert [layer.kind for layer in graph] == [K.INPUT, K.LINEAR, K.NORM, K.LINEAR, K.OUTPUT]
    norm = graph.layer("ln")
    assert norm.normalization == "layernorm" and len(norm.nodes) == 9 and norm.output == "ln"
    assert graph.predecessors("dense2") == ["ln"]


def _matmul_then(nodes: list[onnx.NodeProto], out: str, extra: list[onnx.TensorProto] = ()) -> LayerGraph:
    weight = tensor("w", np.random.default_rng(0).standard_normal((4, 4)).astype(np.float32))
    first = helper.make_node("MatMul", ["x", "w"], ["h"], name="/dense/MatMul")
    return _graph(model([first, *nodes], [float_input("x", [2, 4])], [out], [weight, *extra]))


def test_gated_activations_are_named() -> None:
    silu = _matmul_then([helper.make_node("Sigmoid", ["h"], ["s"]), helper.make_node("Mul", ["h", "s"], ["y"])], "y")
    assert silu.layer("dense").activation == "silu"
    hswish = _matmul_then([helper.make_node("HardSigmoid", ["h"], ["s"]), helper.make_node("Mul", ["s", "h"], ["y"])], "y")
    assert hswish.layer("dense").activation == "hardswish"
    consts = [tensor("sqrt2", np.array(1.4142135, np.float32)), tensor("one", np.array(1.0, np.float32)),
              tensor("half", np.array(0.5, np.float32))]
    gelu = _matmul_then([
        helper.make_node("Mul", ["h", "half"], ["hh"]),  # x * 0.5 first, as keras2onnx orders it
        helper.make_node("Div", ["h", "sqrt2"], ["d"]), helper.make_node("Erf", ["d"], ["e"]),
        helper.make_node("Add", ["e", "one"], ["e1"]), helper.make_node("Mul", ["hh", "e1"], ["y"]),
    ], "y", consts)
    assert gelu.layer("dense").activation == "gelu" and len(gelu) == 3


def test_clip_0_6_is_relu6() -> None:
    bounds = [tensor("lo", np.array(0.0, np.float32)), tensor("hi", np.array(6.0, np.float32))]
    graph = _matmul_then([helper.make_node("Clip", ["h", "lo", "hi"], ["y"])], "y", bounds)
    assert graph.layer("dense").activation == "relu6"


def test_attention_embedding_and_mask_side_input() -> None:
    """ids -> embedding -> q, k projections -> scores (+ mask bias) -> softmax -> context."""
    rng = np.random.default_rng(0)
    inits = [tensor("table", rng.standard_normal((30, 4)).astype(np.float32)),
             tensor("wq", rng.standard_normal((4, 4)).astype(np.float32)),
             tensor("wk", rng.standard_normal((4, 4)).astype(np.float32)),
             tensor("big", np.array(-10000.0, np.float32)), tensor("perm_axis", np.array([1], np.int64))]
    nodes = [
        helper.make_node("Gather", ["table", "ids"], ["emb"], name="/embeddings/Gather"),
        helper.make_node("MatMul", ["emb", "wq"], ["q"], name="/query/MatMul"),
        helper.make_node("MatMul", ["emb", "wk"], ["k"], name="/key/MatMul"),
        helper.make_node("Transpose", ["k"], ["kt"], name="/key/Transpose", perm=[0, 2, 1]),
        helper.make_node("MatMul", ["q", "kt"], ["scores"], name="/attention/MatMul"),
        helper.make_node("Cast", ["mask"], ["maskf"], to=TensorProto.FLOAT, name="/mask/Cast"),
        helper.make_node("Unsqueeze", ["maskf", "perm_axis"], ["mask3"], name="/mask/Unsqueeze"),
        helper.make_node("Mul", ["mask3", "big"], ["bias"], name="/mask/Mul"),
        helper.make_node("Add", ["scores", "bias"], ["masked"], name="/attention/Add"),
        helper.make_node("Softmax", ["masked"], ["probs"], name="/attention/Softmax", axis=-1),
        helper.make_node("MatMul", ["probs", "emb"], ["y"], name="/attention/MatMul_1"),
    ]
    graph = _graph(model(nodes, [int_input("ids", ["B", "S"]), int_input("mask", ["B", "S"])], ["y"], inits))
    kinds = dict(_kinds(graph))
    assert kinds == {"ids": K.INPUT, "mask": K.INPUT, "embeddings": K.EMBEDDING, "query": K.LINEAR,
                     "key": K.LINEAR, "attention": K.ATTENTION, "attention.MatMul_1": K.ATTENTION, "y": K.OUTPUT}
    scores = graph.layer("attention")
    assert scores.activation == "softmax" and "/mask/Cast" not in scores.nodes
    assert sorted(graph.predecessors("attention")) == ["key", "mask", "query"]
    embedding = graph.layer("embeddings")
    assert (embedding.fan_in, embedding.fan_out) == (1, 4) and embedding.weight.shape == (30, 4)
    assert graph.layer("key").op_types == ("MatMul", "Transpose")


def test_shape_plumbing_is_not_a_layer() -> None:
    """Reshape to a shape computed from Shape/Gather/Concat: only the Reshape joins the layer."""
    nodes = [
        helper.make_node("Relu", ["x"], ["r"], name="/act/Relu"),
        helper.make_node("Shape", ["r"], ["shape"], name="/shape/Shape"),
        helper.make_node("Gather", ["shape", "zero"], ["batch"], name="/shape/Gather", axis=0),
        helper.make_node("Unsqueeze", ["batch", "zeros"], ["batch1"], name="/shape/Unsqueeze"),
        helper.make_node("Concat", ["batch1", "minus1"], ["target"], name="/shape/Concat", axis=0),
        helper.make_node("Reshape", ["r", "target"], ["flat"], name="/flatten/Reshape"),
        helper.make_node("MatMul", ["flat", "w"], ["y"], name="/fc/MatMul"),
    ]
    inits = [tensor("zero", np.array(0, np.int64)), tensor("zeros", np.array([0], np.int64)),
             tensor("minus1", np.array([-1], np.int64)), tensor("w", np.ones((12, 2), np.float32))]
    graph = _graph(model(nodes, [float_input("x", ["N", 3, 4])], ["y"], inits))
    layer_nodes = {n for layer in graph for n in layer.nodes}
    assert not layer_nodes & {"/shape/Shape", "/shape/Gather", "/shape/Unsqueeze", "/shape/Concat"}
    assert [layer.kind for layer in graph] == [K.INPUT, K.OTHER, K.LINEAR, K.OUTPUT]
    assert graph.layer("act").nodes == ("/act/Relu", "/flatten/Reshape")
    assert graph.layer("fc").fan_in == 12


def test_a_value_read_outside_its_layer_ends_the_layer() -> None:
    """relu feeds a pool and an output reshape: the reshape cannot join the conv layer."""
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="/conv/Conv"),
        helper.make_node("Relu", ["c"], ["r"], name="/conv/Relu"),
        helper.make_node("MaxPool", ["r"], ["p"], name="/pool/MaxPool", kernel_shape=[2, 2]),
        helper.make_node("Flatten", ["r"], ["features"], name="/features/Flatten"),
    ]
    graph = _graph(model(nodes, [float_input("x", [1, 3, 4, 4])], ["p", "features"],
                         [tensor("w", conv_weight(2, 3, 1))]))
    assert graph.layer("conv").nodes == ("/conv/Conv", "/conv/Relu")
    assert graph.layer("features").kind is K.OTHER and graph.predecessors("features") == ["conv"]


def test_concat_of_two_paths_and_lstm() -> None:
    rng = np.random.default_rng(0)
    hidden, size = 3, 5
    inits = [tensor("W", rng.standard_normal((1, 4 * hidden, size)).astype(np.float32)),
             tensor("R", rng.standard_normal((1, 4 * hidden, hidden)).astype(np.float32)),
             tensor("w2", np.ones((size, hidden), np.float32))]
    nodes = [
        helper.make_node("LSTM", ["x", "W", "R"], ["Y", "Y_h"], name="/rnn/LSTM", hidden_size=hidden),
        helper.make_node("Squeeze", ["Y_h", "axis0"], ["h"], name="/rnn/Squeeze"),
        helper.make_node("MatMul", ["x_last", "w2"], ["skip"], name="/skip/MatMul"),
        helper.make_node("Concat", ["h", "skip"], ["y"], name="/cat/Concat", axis=-1),
    ]
    inits.append(tensor("axis0", np.array([0], np.int64)))
    inputs = [float_input("x", [7, 2, size]), float_input("x_last", [2, size])]
    graph = _graph(model(nodes, inputs, ["y"], inits))
    rnn = graph.layer("rnn")
    assert rnn.kind is K.RECURRENT and (rnn.fan_in, rnn.fan_out) == (size + hidden, hidden)
    assert rnn.weight.shape == (1, 4 * hidden, size + hidden) and rnn.output == "h"
    assert graph.layer("cat").kind is K.CONCAT
    assert sorted(graph.predecessors("cat")) == ["rnn", "skip"]


def test_weights_computed_in_the_graph_are_evaluated() -> None:
    """Conv weight = ConstantOfShape(0.02), MatMul weight = Transpose(initializer)."""
    fill = helper.make_tensor("v", TensorProto.FLOAT, [1], [0.02])
    nodes = [
        helper.make_node("ConstantOfShape", ["wshape"], ["cw"], value=fill),
        helper.make_node("Conv", ["x", "cw"], ["c"], name="/conv/Conv"),
        helper.make_node("Flatten", ["c"], ["f"], name="/flat/Flatten"),
        helper.make_node("Transpose", ["wt"], ["w"], name="/fc/Transpose", perm=[1, 0]),
        helper.make_node("MatMul", ["f", "w"], ["y"], name="/fc/MatMul"),
    ]
    inits = [tensor("wshape", np.array([2, 3, 3, 3], np.int64)),
             tensor("wt", np.arange(10 * 8, dtype=np.float32).reshape(10, 8))]
    graph = _graph(model(nodes, [float_input("x", [1, 3, 4, 4])], ["y"], inits))
    conv = graph.layer("conv")
    assert conv.weight.shape == (2, 3, 3, 3) and conv.weight.std == 0.0 and conv.weight.mean == np.float32(0.02)
    fc = graph.layer("fc")
    assert (fc.fan_in, fc.fan_out) == (8, 10) and fc.weight.shape == (8, 10)


def test_node_order_in_the_file_does_not_matter() -> None:
    ordered = mlp()
    shuffled = onnx.ModelProto()
    shuffled.CopyFrom(ordered)
    nodes = list(shuffled.graph.node)
    del shuffled.graph.node[:]
    shuffled.graph.node.extend(reversed(nodes))
    assert _kinds(_graph(shuffled)) == _kinds(_graph(ordered))
    assert [layer.nodes for layer in _graph(shuffled)] == [layer.nodes for layer in _graph(ordered)]


def test_norm_ops_are_norm_layers_with_gamma_stats() -> None:
    width = 6
    inits = [tensor("w", np.ones((width, width), np.float32)), tensor("gamma", np.full(width, 2.0, np.float32)),
             tensor("beta", np.zeros(width, np.float32))]
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"], name="/fc/MatMul"),
             helper.make_node("LayerNormalization", ["h", "gamma", "beta"], ["n"], name="/ln/LayerNormalization"),
             helper.make_node("Gelu", ["n"], ["y"], name="/act/Gelu")]
    proto = model(nodes, [float_input("x", ["B", width])], ["y"], inits, opset=20)
    norm = _graph(proto).layer("ln")
    assert (norm.kind, norm.normalization, norm.activation) == (K.NORM, "layernorm", "gelu")
    assert norm.weight.mean == 2.0 and norm.bias_mean == 0.0 and norm.fan_in is None


def test_decomposed_rmsnorm() -> None:
    inits = [tensor("w", np.ones((4, 4), np.float32)), tensor("two", np.array(2.0, np.float32)),
             tensor("eps", np.array(1e-6, np.float32)), tensor("g", np.ones(4, np.float32))]
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"], name="/fc/MatMul"),
             helper.make_node("Pow", ["h", "two"], ["sq"], name="/rms/Pow"),
             helper.make_node("ReduceMean", ["sq"], ["ms"], name="/rms/ReduceMean", axes=[-1]),
             helper.make_node("Add", ["ms", "eps"], ["mse"], name="/rms/Add"),
             helper.make_node("Sqrt", ["mse"], ["rms"], name="/rms/Sqrt"),
             helper.make_node("Div", ["h", "rms"], ["n"], name="/rms/Div"),
             helper.make_node("Mul", ["n", "g"], ["y"], name="/rms/Mul")]
    graph = _graph(model(nodes, [float_input("x", ["B", 4])], ["y"], inits, opset=13))
    assert [(l.name, l.kind, l.normalization) for l in graph][1:3] == [
        ("fc", K.LINEAR, None), ("rms", K.NORM, "rmsnorm")]
    assert len(graph.layer("rms").nodes) == 6


def test_gru_fans() -> None:
    hidden, size = 4, 3
    inits = [tensor("W", np.ones((1, 3 * hidden, size), np.float32)),
             tensor("R", np.ones((1, 3 * hidden, hidden), np.float32))]
    nodes = [helper.make_node("GRU", ["x", "W", "R"], ["Y"], name="/gru/GRU", hidden_size=hidden)]
    gru = _graph(model(nodes, [float_input("x", [5, 2, size])], ["Y"], inits)).layer("gru")
    assert (gru.kind, gru.fan_in, gru.fan_out) == (K.RECURRENT, size + hidden, hidden)


def test_integer_image_input_still_has_a_signal() -> None:
    """uint8 pixels -> Cast -> Div: with no float input, the cast starts the signal."""
    nodes = [helper.make_node("Cast", ["pixels"], ["f"], to=TensorProto.FLOAT, name="/pre/Cast"),
             helper.make_node("Div", ["f", "scale"], ["s"], name="/pre/Div"),
             helper.make_node("Conv", ["s", "w"], ["y"], name="/conv/Conv")]
    inits = [tensor("scale", np.array(255.0, np.float32)), tensor("w", conv_weight(2, 3, 3))]
    proto = model(nodes, [int_input("pixels", [1, 3, 8, 8], TensorProto.UINT8)], ["y"], inits)
    assert [l.kind for l in _graph(proto)] == [K.INPUT, K.OTHER, K.CONV, K.OUTPUT]


def test_rotary_embedding_stays_in_its_projection() -> None:
    """q * cos + rotate_half(q) * sin, rotate_half = concat(-q[..., 2:], q[..., :2])."""
    inits = [tensor("w", np.ones((4, 4), np.float32)), tensor("cos", np.ones(4, np.float32)),
             tensor("sin", np.ones(4, np.float32)), tensor("s0", np.array([0], np.int64)),
             tensor("s2", np.array([2], np.int64)), tensor("s4", np.array([4], np.int64)),
             tensor("ax", np.array([-1], np.int64))]
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["q"], name="/q_proj/MatMul"),
        helper.make_node("Mul", ["q", "cos"], ["qc"], name="/rope/Mul"),
        helper.make_node("Slice", ["q", "s0", "s2", "ax"], ["q1"], name="/rope/Slice"),
        helper.make_node("Slice", ["q", "s2", "s4", "ax"], ["q2"], name="/rope/Slice_1"),
        helper.make_node("Neg", ["q2"], ["nq2"], name="/rope/Neg"),
        helper.make_node("Concat", ["nq2", "q1"], ["rot"], name="/rope/Concat", axis=-1),
        helper.make_node("Mul", ["rot", "sin"], ["rs"], name="/rope/Mul_1"),
        helper.make_node("Add", ["qc", "rs"], ["y"], name="/rope/Add"),
    ]
    graph = _graph(model(nodes, [float_input("x", [2, 4])], ["y"], inits))
    assert [layer.kind for layer in graph] == [K.INPUT, K.LINEAR, K.OUTPUT]
    assert len(graph.layer("q_proj").nodes) == len(nodes)
