"""inline_if_branches: the branch the probe inputs select replaces the If, outputs unchanged."""
from __future__ import annotations

import numpy as np
import onnx
import onnxruntime as ort
from onnx import helper
from onnx_graphs import float_input, int_input, model, tensor

from gradlint.loaders.onnx.specialize import inline_if_branches


def _branch(name: str, weight: str, nodes_after: list[onnx.NodeProto] | None = None) -> onnx.GraphProto:
    nodes = [helper.make_node("MatMul", ["x", weight], [f"{name}_h"], name=f"/{name}/MatMul")]
    nodes += nodes_after or [helper.make_node("Relu", [f"{name}_h"], [f"{name}_y"], name=f"/{name}/Relu")]
    return helper.make_graph(nodes, name, [], [helper.make_empty_tensor_value_info(f"{name}_y")])


def _nested() -> onnx.GraphProto:
    """A then-branch holding a second If on the input's rank (as silero does)."""
    inner_then = helper.make_graph([helper.make_node("Tanh", ["hi_h"], ["inner_t"], name="/inner/Tanh")], "it", [],
                                   [helper.make_empty_tensor_value_info("inner_t")])
    inner_else = helper.make_graph([helper.make_node("Sigmoid", ["hi_h"], ["inner_s"], name="/inner/Sigmoid")], "ie", [],
                                   [helper.make_empty_tensor_value_info("inner_s")])
    nodes = [
        helper.make_node("Shape", ["x"], ["shape"], name="/hi/Shape"),
        helper.make_node("Size", ["shape"], ["rank"], name="/hi/Size"),
        helper.make_node("Equal", ["rank", "two"], ["is2d"], name="/hi/Equal"),
        helper.make_node("If", ["is2d"], ["hi_y"], name="/hi/If", then_branch=inner_then, else_branch=inner_else),
    ]
    return _branch("hi", "w_hi", nodes)


def _gated_model() -> onnx.ModelProto:
    nodes = [
        helper.make_node("Equal", ["sr", "rate"], ["is16k"], name="Equal_0"),
        helper.make_node("If", ["is16k"], ["y"], name="If_0", then_branch=_nested(),
                         else_branch=_branch("lo", "w_lo")),
    ]
    rng = np.random.default_rng(0)
    inits = [tensor("w_hi", rng.standard_normal((4, 3)).astype(np.float32)),
             tensor("w_lo", rng.standard_normal((4, 3)).astype(np.float32)),
             tensor("rate", np.array(16000, np.int64)), tensor("two", np.array(2, np.int64))]
    return model(nodes, [float_input("x", [2, 4]), int_input("sr", [])], ["y"], inits)


def _run(proto: onnx.ModelProto, feeds: dict) -> np.ndarray:
    return ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, feeds)[0]


def _feeds(rate: int) -> dict[str, np.ndarray]:
    return {"x": np.random.default_rng(1).standard_normal((2, 4)).astype(np.float32),
            "sr": np.array(rate, np.int64)}


def test_taken_branches_are_inlined_recursively() -> None:
    original = _gated_model()
    inlined, notes = inline_if_branches(original, _feeds(16000))
    ops = [n.op_type for n in inlined.graph.node]
    assert "If" not in ops and "Tanh" in ops and "Sigmoid" not in ops
    assert "/hi/MatMul" in {n.name for n in inlined.graph.node}
    np.testing.assert_allclose(_run(inlined, _feeds(16000)), _run(original, _feeds(16000)), rtol=1e-6)
    (note,) = notes
    assert note.kind == "if-inlined" and note.details["branches"] == {"If_0": "then", "/hi/If": "then"}


def test_other_control_value_selects_the_other_branch() -> None:
    original = _gated_model()
    inlined, notes = inline_if_branches(original, _feeds(8000))
    names = {n.name for n in inlined.graph.node}
    assert "/lo/MatMul" in names and "/hi/MatMul" not in names
    np.testing.assert_allclose(_run(inlined, _feeds(8000)), _run(original, _feeds(8000)), rtol=1e-6)
    assert notes[0].details["branches"] == {"If_0": "else"}


def test_condition_that_cannot_be_evaluated_leaves_the_if() -> None:
    original = _gated_model()
    inlined, notes = inline_if_branches(original, {"x": _feeds(16000)["x"]})  # no sr fed
    assert [n.op_type for n in inlined.graph.node].count("If") == 1
    assert notes[0].kind == "if-opaque" and notes[0].node == "If_0"


def test_model_without_if_is_returned_unchanged() -> None:
    proto = model([helper.make_node("Relu", ["x"], ["y"])], [float_input("x", [2])], ["y"])
    inlined, notes = inline_if_branches(proto, {})
    assert inlined is proto and notes == ()


def test_original_model_is_not_modified() -> None:
    original = _gated_model()
    before = original.SerializeToString()
    inline_if_branches(original, _feeds(16000))
    assert original.SerializeToString() == before
