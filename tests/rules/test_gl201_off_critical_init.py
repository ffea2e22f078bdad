from __future__ import annotations

import pytest
from static_lint import CALIBRATION, codes, lint_static


@pytest.mark.parametrize(
    ("name", "direction"),
    [("relu_small_init_mlp", "below"), ("relu_large_init_mlp", "above"), ("chaotic_tanh_mlp", "above")],
)
def test_off_critical_stacks_trigger_in_the_right_direction(name: str, direction: str, onnx_of) -> None:
    for target in (f"{CALIBRATION}:build_{name}", onnx_of(CALIBRATION, name)):
        findings = [f for f in lint_static(target) if f.code == "GL201"]
        assert len(findings) == 1, target
        ratio = findings[0].evidence["predicted_gradient_ratio"]
        assert (ratio > 10) if direction == "above" else (ratio < 0.01)


def test_prediction_matches_the_measured_ratio_of_the_calibration_set() -> None:
    # measured in torch (fixtures/calibration/gradient_profile.py): 2.2e-6, 5.6e5, 98
    expected = {"relu_small_init_mlp": 2.18e-6, "relu_large_init_mlp": 5.61e5, "chaotic_tanh_mlp": 97.7}
    for name, measured in expected.items():
        finding = next(f for f in lint_static(f"{CALIBRATION}:build_{name}") if f.code == "GL201")
        assert finding.evidence["predicted_gradient_ratio"] == pytest.approx(measured, rel=0.3)


@pytest.mark.parametrize("name", ["he_relu_mlp", "he_relu_cnn", "xavier_tanh_mlp", "orthogonal_tanh_mlp", "short_sigmoid_mlp"])
def test_critical_inits_do_not(name: str) -> None:
    assert "GL201" not in codes(lint_static(f"{CALIBRATION}:build_{name}"))


def test_biases_and_sigmoids_are_left_to_their_own_rules() -> None:
    assert "GL201" not in codes(lint_static(f"{CALIBRATION}:build_relu_negative_bias_mlp"))
    assert "GL201" not in codes(lint_static(f"{CALIBRATION}:build_deep_sigmoid_mlp"))
