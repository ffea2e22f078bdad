from __future__ import annotations

import pytest
from static_lint import CALIBRATION, RULE_MODELS, codes, lint_static


def test_a_20_layer_width_8_relu_mlp_triggers() -> None:
    findings = [f for f in lint_static(f"{RULE_MODELS}:build_narrow_deep_relu_mlp") if f.code == "GL102"]
    assert len(findings) == 1
    assert findings[0].evidence["beta"] == pytest.approx(19 / 8)
    assert findings[0].evidence["narrowest_width"] == 8


def test_its_onnx_export_triggers_too(onnx_of) -> None:
    assert "GL102" in codes(lint_static(onnx_of(RULE_MODELS, "narrow_deep_relu_mlp")))


def test_a_width_128_mlp_of_the_same_depth_does_not() -> None:
    assert "GL102" not in codes(lint_static(f"{CALIBRATION}:build_he_relu_mlp"))
