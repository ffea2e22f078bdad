from __future__ import annotations

import pytest
from static_lint import CALIBRATION, codes, lint_static


@pytest.mark.parametrize(("name", "layers"), [("deep_sigmoid_mlp", 19), ("deep_sigmoid_cnn", 10)])
def test_deep_sigmoid_stacks_trigger(name: str, layers: int, onnx_of) -> None:
    for target in (f"{CALIBRATION}:build_{name}", onnx_of(CALIBRATION, name)):
        findings = [f for f in lint_static(target) if f.code == "GL301"]
        assert len(findings) == 1, target
        assert len(findings[0].evidence["sigmoid_layers"]) == layers
        assert findings[0].evidence["predicted_gradient_ratio"] < 1e-6


def test_a_three_layer_sigmoid_mlp_does_not() -> None:
    assert "GL301" not in codes(lint_static(f"{CALIBRATION}:build_short_sigmoid_mlp"))


def test_deep_tanh_stacks_at_critical_init_do_not() -> None:
    assert "GL301" not in codes(lint_static(f"{CALIBRATION}:build_xavier_tanh_mlp"))
