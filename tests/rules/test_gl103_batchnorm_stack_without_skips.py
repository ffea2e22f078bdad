from __future__ import annotations

from static_lint import CALIBRATION, TRANSFORMERS, codes, lint_static


def test_29_bn_relu_layers_without_skips_trigger() -> None:
    findings = [f for f in lint_static(f"{CALIBRATION}:build_deep_bn_relu_no_skip") if f.code == "GL103"]
    assert len(findings) == 1
    assert findings[0].evidence["batchnorm_relu_layers"] == 29
    assert findings[0].evidence["predicted_gradient_ratio"] > 100


def test_the_training_mode_onnx_export_keeps_batchnorm_and_triggers(onnx_of) -> None:
    assert "GL103" in codes(lint_static(onnx_of(CALIBRATION, "deep_bn_relu_no_skip", training=True)))


def test_a_bn_resnet_does_not_its_blocks_are_bypassed() -> None:
    assert "GL103" not in codes(lint_static(f"{CALIBRATION}:build_bn_resnet"))


def test_mobilenet_v2_inverted_residuals_do_not() -> None:
    assert "GL103" not in codes(lint_static(f"{TRANSFORMERS}:build_hf_mobilenet_v2"))
