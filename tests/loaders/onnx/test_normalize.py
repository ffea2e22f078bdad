"""normalize: unique node names, real inputs only, inferred shapes, opset range."""
from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper
from onnx_graphs import float_input, mlp, model, tensor

from gradlint.loaders.onnx.normalize import infer_shapes, name_nodes, normalize, real_input_names


def _relu_chain(names: list[str]) -> list:
    sources = ["x", *[f"v{i}" for i in range(len(names))]]
    return [helper.make_node("Relu", [src], [dst], name=name)
            for name, src, dst in zip(names, sources[:-1], sources[1:])]


def test_unnamed_nodes_get_op_and_position() -> None:
    proto = model(_relu_chain(["", "", "named"]), [float_input("x", [2])], ["v2"])
    name_nodes(proto.graph)
    assert [n.name for n in proto.graph.node] == ["Relu_0", "Relu_1", "named"]


def test_duplicate_names_are_suffixed_without_colliding() -> None:
    proto = model(_relu_chain(["a", "a", "a_1", ""]), [float_input("x", [2])], ["v3"])
    name_nodes(proto.graph)
    names = [n.name for n in proto.graph.node]
    assert names[0] == "a" and names[2] == "a_1"
    assert len(set(names)) == 4 and names[1].startswith("a_") and names[3] == "Relu_3"


def test_default_name_avoids_an_explicit_one() -> None:
    proto = model(_relu_chain(["", "Relu_0"]), [float_input("x", [2])], ["v1"])
    name_nodes(proto.graph)
    assert [n.name for n in proto.graph.node] == ["Relu_0_1", "Relu_0"]


def test_subgraph_nodes_are_named_after_their_owner() -> None:
    branch = helper.make_graph([helper.make_node("Relu", ["x"], ["t"])], "b", [],
                               [helper.make_empty_tensor_value_info("t")])
    node = helper.make_node("If", ["c"], ["y"], name="gate", then_branch=branch, else_branch=branch)
    proto = model([node], [float_input("x", [2]), helper.make_tensor_value_info("c", TensorProto.BOOL, [])], ["y"])
    name_nodes(proto.graph)
    inner = [a.g.node[0].name for a in proto.graph.node[0].attribute]
    assert inner[0] == "gate/Relu_0" and len(set(inner)) == 2


def test_initializers_leave_the_inputs_and_ir_is_raised() -> None:
    proto = mlp()
    proto.ir_version = 3
    proto.graph.input.extend(helper.make_tensor_value_info(t.name, t.data_type, t.dims)
                             for t in proto.graph.initializer)
    assert len(proto.graph.input) > 1
    normalized, notes = normalize(proto)
    assert [v.name for v in normalized.graph.input] == ["x"] == list(real_input_names(normalized))
    assert normalized.ir_version == 4 and notes == ()


def test_shapes_are_inferred() -> None:
    normalized, _ = normalize(mlp(widths=(8, 16, 4)))
    shapes = {v.name: [d.dim_value or d.dim_param for d in v.type.tensor_type.shape.dim]
              for v in normalized.graph.value_info}
    assert shapes["h0"] == ["batch", 16]


def test_opset_outside_range_is_a_diagnostic_not_an_error() -> None:
    proto = model([helper.make_node("Relu", ["x"], ["y"])], [float_input("x", [2])], ["y"], opset=6, ir_version=3)
    normalized, notes = normalize(proto)
    assert [n.kind for n in notes] == ["opset-out-of-range"]
    assert "opset 6" in notes[0].message and len(normalized.graph.node) == 1


def test_opsets_in_range_are_silent() -> None:
    for opset in (7, 21):
        proto = model([helper.make_node("Relu", ["x"], ["y"])], [float_input("x", [2])], ["y"], opset=opset)
        assert normalize(proto)[1] == ()


def test_failed_shape_inference_keeps_the_model() -> None:
    weight = tensor("w", np.ones((3, 5), np.float32))  # 2 x 3 @ 3 x 5 fine; the Reshape is not
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"]),
             helper.make_node("Reshape", ["h", "shape"], ["y"])]
    proto = model(nodes, [float_input("x", [2, 3])], ["y"], [weight, tensor("shape", np.array([7], np.int64))])
    normalized, _ = normalize(proto)
    assert [n.op_type for n in normalized.graph.node] == ["MatMul", "Reshape"]


def test_local_functions_are_inlined() -> None:
    body = [helper.make_node("Relu", ["a"], ["r"]), helper.make_node("Neg", ["r"], ["b"])]
    function = helper.make_function("local", "ReluNeg", ["a"], ["b"], body, [helper.make_opsetid("", 17)])
    call = helper.make_node("ReluNeg", ["x"], ["y"], domain="local", name="call")
    proto = model([call], [float_input("x", [2])], ["y"], extra_opsets=[("local", 1)])
    proto.functions.append(function)
    normalized, _ = normalize(proto)
    assert [n.op_type for n in normalized.graph.node] == ["Relu", "Neg"]
    assert len({n.name for n in normalized.graph.node}) == 2


def test_inference_without_weight_bytes_matches_inference_with_them() -> None:
    """Large weights are left out of inference; shape inputs (ints) keep their values."""
    weight = tensor("w", np.ones((8, 4096), np.float32))
    nodes = [helper.make_node("MatMul", ["x", "w"], ["h"]),
             helper.make_node("Reshape", ["h", "shape"], ["r"]),
             helper.make_node("Relu", ["r"], ["y"])]
    proto = model(nodes, [float_input("x", [2, 8])], ["y"], [weight, tensor("shape", np.array([4, -1], np.int64))])
    expected = onnx.shape_inference.infer_shapes(proto, check_type=False, strict_mode=False, data_prop=True)
    normalized = infer_shapes(proto)
    assert normalized.SerializeToString(deterministic=True) == expected.SerializeToString(deterministic=True)
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim] for v in normalized.graph.value_info}
    assert shapes["r"] == [4, 2048]
