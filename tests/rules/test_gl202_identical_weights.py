from __future__ import annotations

from static_lint import CALIBRATION, RULE_MODELS, codes, lint_static


def test_constant_weights_trigger_on_every_layer_but_the_output(onnx_of) -> None:
    for target in (f"{CALIBRATION}:build_constant_weight_mlp", onnx_of(CALIBRATION, "constant_weight_mlp")):
        findings = [f for f in lint_static(target) if f.code == "GL202"]
        assert len(findings) == 5, target  # 6 layers; the output layer's units are told apart by the loss
        assert all(f.evidence["verdict"] == "observed" for f in findings)


def test_identical_random_filters_read_identically_trigger_through_the_tensors(onnx_of) -> None:
    for target in (f"{RULE_MODELS}:build_repeated_filter_cnn", onnx_of(RULE_MODELS, "repeated_filter_cnn")):
        findings = [f for f in lint_static(target) if f.code == "GL202"]
        assert len(findings) == 3 and all(f.evidence["weight_std"] > 0 for f in findings)


def test_repeated_rows_read_by_a_random_layer_do_not_the_symmetry_breaks() -> None:
    assert "GL202" not in codes(lint_static(f"{RULE_MODELS}:build_repeated_row_mlp"))


def test_random_weights_do_not() -> None:
    assert "GL202" not in codes(lint_static(f"{CALIBRATION}:build_he_relu_mlp"))
