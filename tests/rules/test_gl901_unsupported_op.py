from __future__ import annotations

from onnx import TensorProto, helper

from tool_models import HEALTHY, codes, linear_then, lint, save


def test_an_op_outside_the_table_is_named_with_its_node(tmp_path):
    model = linear_then(
        [helper.make_node("FusedGelu", ["h"], ["y"], name="vendor_gelu", domain="com.example")],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])],
        [helper.make_opsetid("", 17), helper.make_opsetid("com.example", 1)],
    )
    report = lint(save(model, tmp_path, "vendor.onnx"), probe=True)
    (finding,) = [f for f in report.findings if f.code == "GL901"]
    assert finding.node == "vendor_gelu" and "FusedGelu" in finding.message
    assert report.probe is None  # nothing could run


def test_a_fully_supported_model_has_none():
    assert "GL901" not in codes(lint(HEALTHY))
