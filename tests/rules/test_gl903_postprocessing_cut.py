from __future__ import annotations

from onnx import TensorProto, helper

from tool_models import HEALTHY, codes, linear_then, lint, save


def zipmap_model():
    map_type = helper.make_map_type_proto(TensorProto.INT64, helper.make_tensor_type_proto(TensorProto.FLOAT, []))
    return linear_then(
        [
            helper.make_node("Softmax", ["h"], ["probs"], name="softmax"),
            helper.make_node("ZipMap", ["probs"], ["scores"], name="zipmap", domain="ai.onnx.ml",
                             classlabels_int64s=[0, 1, 2]),
        ],
        [helper.make_value_info("scores", helper.make_sequence_type_proto(map_type))],
        [helper.make_opsetid("", 17), helper.make_opsetid("ai.onnx.ml", 1)],
    )


def test_zipmap_post_processing_is_cut_and_said(tmp_path):
    report = lint(save(zipmap_model(), tmp_path, "zipmap.onnx"), probe=True)
    assert codes(report) == ["GL903"]
    assert "ZipMap" in report.findings[0].message
    assert report.probe is not None  # the model up to the softmax was analysed


def test_a_model_without_post_processing_has_none():
    assert "GL903" not in codes(lint(HEALTHY))
