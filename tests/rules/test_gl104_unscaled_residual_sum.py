from __future__ import annotations

import pytest
from static_lint import CALIBRATION, RULE_MODELS, codes, lint_static


def test_32_unnormalized_he_blocks_trigger() -> None:
    findings = [f for f in lint_static(f"{CALIBRATION}:build_deep_resnet_no_norm") if f.code == "GL104"]
    assert len(findings) == 1
    assert findings[0].evidence["blocks"] == 32
    assert findings[0].evidence["variance_growth_per_block"] == pytest.approx(3.0, rel=0.1)


def test_its_onnx_export_triggers_too(onnx_of) -> None:
    assert "GL104" in codes(lint_static(onnx_of(CALIBRATION, "deep_resnet_no_norm")))


@pytest.mark.parametrize("name", ["layerscale_residual_mlp", "fixup_residual_mlp", "short_residual_mlp"])
def test_scaled_zero_init_or_shallow_residual_stacks_do_not(name: str, onnx_of) -> None:
    assert "GL104" not in codes(lint_static(f"{RULE_MODELS}:build_{name}"))
    assert "GL104" not in codes(lint_static(onnx_of(RULE_MODELS, name)))


def test_a_bn_resnet_does_not_but_its_eval_export_with_bn_folded_does(onnx_of) -> None:
    assert "GL104" not in codes(lint_static(f"{CALIBRATION}:build_bn_resnet"))
    assert "GL104" not in codes(lint_static(onnx_of(CALIBRATION, "bn_resnet", training=True)))
    # eval-mode export folds BatchNorm into the convolutions: the file is an unnormalized
    # residual net, and gradlint reports what it sees.
    assert "GL104" in codes(lint_static(onnx_of(CALIBRATION, "bn_resnet")))
