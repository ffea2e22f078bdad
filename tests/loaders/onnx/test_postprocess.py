"""cut_postprocessing: ai.onnx.ml tails go, the float scores become the outputs."""
from __future__ import annotations

import numpy as np
from onnx import TensorProto, helper
from onnx_graphs import float_input, model, tensor

from gradlint.loaders.onnx.postprocess import cut_postprocessing

ML = ("ai.onnx.ml", 1)


def _classifier() -> object:
    """Gemm -> Sigmoid ('scores') -> ArgMax -> ArrayFeatureExtractor(labels), and ZipMap(scores)."""
    labels = helper.make_tensor("labels", TensorProto.STRING, [3], [b"a", b"b", b"c"])
    nodes = [
        helper.make_node("Gemm", ["x", "w"], ["logits"], name="fc"),
        helper.make_node("Sigmoid", ["logits"], ["scores"], name="act"),
        helper.make_node("Constant", [], ["labels"], name="LabelLoader", value=labels),
        helper.make_node("ArgMax", ["scores"], ["label_id"], name="argmax", axis=1),
        helper.make_node("ArrayFeatureExtractor", ["labels", "label_id"], ["label"], name="select",
                         domain="ai.onnx.ml"),
        helper.make_node("ZipMap", ["scores"], ["probabilities"], name="zipmap", domain="ai.onnx.ml",
                         classlabels_strings=["a", "b", "c"]),
    ]
    return model(nodes, [float_input("x", [1, 4])], ["label", "probabilities"],
                 [tensor("w", np.ones((4, 3), np.float32))], opset=13, extra_opsets=[ML])


def test_tail_is_cut_and_scores_become_the_output() -> None:
    proto = _classifier()
    notes = cut_postprocessing(proto)
    assert [n.op_type for n in proto.graph.node] == ["Gemm", "Sigmoid"]
    assert [o.name for o in proto.graph.output] == ["scores"]
    (note,) = notes
    assert note.kind == "postprocessing-cut"
    assert "ArgMax" in note.message and "ZipMap" in note.message and "'scores'" in note.message
    assert set(note.details["removed_nodes"]) == {"LabelLoader", "argmax", "select", "zipmap"}


def test_graph_without_ml_ops_is_untouched() -> None:
    proto = model([helper.make_node("Relu", ["x"], ["y"])], [float_input("x", [2])], ["y"])
    assert cut_postprocessing(proto) == ()
    assert [n.op_type for n in proto.graph.node] == ["Relu"]


def test_ml_op_feeding_the_network_is_kept() -> None:
    """A Scaler in front of a Gemm is preprocessing, not a tail: nothing is cut."""
    nodes = [
        helper.make_node("Scaler", ["x"], ["scaled"], domain="ai.onnx.ml", scale=[2.0]),
        helper.make_node("Gemm", ["scaled", "w"], ["y"]),
    ]
    proto = model(nodes, [float_input("x", [1, 4])], ["y"], [tensor("w", np.ones((4, 2), np.float32))],
                  opset=13, extra_opsets=[ML])
    assert cut_postprocessing(proto) == ()
    assert len(proto.graph.node) == 2
