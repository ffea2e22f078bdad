from __future__ import annotations

import pytest
from static_lint import CALIBRATION, RULE_MODELS, codes, lint_static


def test_bias_minus_3_before_every_relu_triggers_once_for_the_stack(onnx_of) -> None:
    for target in (f"{CALIBRATION}:build_relu_negative_bias_mlp", onnx_of(CALIBRATION, "relu_negative_bias_mlp")):
        findings = [f for f in lint_static(target) if f.code == "GL302"]
        assert len(findings) == 1, target
        evidence = findings[0].evidence
        assert len(evidence["layers"]) == 19
        # first layer: z ~ N(-3, 2) -> P(z > 0) = Phi(-3 / sqrt 2) = 1.7%
        assert evidence["predicted_active_fraction"] == pytest.approx(0.0169, abs=0.002)


@pytest.mark.parametrize("target", [f"{RULE_MODELS}:build_small_negative_bias_mlp", f"{CALIBRATION}:build_he_relu_mlp"])
def test_small_or_zero_biases_do_not(target: str) -> None:
    assert "GL302" not in codes(lint_static(target))
