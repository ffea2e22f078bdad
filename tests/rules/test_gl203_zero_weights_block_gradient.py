from __future__ import annotations

import pytest
from static_lint import CALIBRATION, RULE_MODELS, codes, lint_static


def test_a_zero_middle_layer_triggers(onnx_of) -> None:
    for target in (f"{CALIBRATION}:build_zero_weight_layer", onnx_of(CALIBRATION, "zero_weight_layer")):
        findings = [f for f in lint_static(target) if f.code == "GL203"]
        assert len(findings) == 1, target
        assert findings[0].evidence["weight_layers_before"] == 4
        assert findings[0].severity.value == "error"


@pytest.mark.parametrize("name", ["zero_head_mlp", "fixup_residual_mlp"])
def test_a_zero_output_layer_or_zero_residual_branch_ends_do_not(name: str, onnx_of) -> None:
    assert "GL203" not in codes(lint_static(f"{RULE_MODELS}:build_{name}"))
    assert "GL203" not in codes(lint_static(onnx_of(RULE_MODELS, name)))
