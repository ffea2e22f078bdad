from __future__ import annotations

from measured_lint import found

CALIBRATION = "fixtures/calibration/models.py"


def test_deep_sigmoid_update_ratios_span_orders_of_magnitude() -> None:
    (finding,) = found(f"{CALIBRATION}:build_deep_sigmoid_mlp", "GL404")
    assert finding.evidence["spread"] > 1e8


def test_he_relu_mlp_update_ratios_are_even() -> None:
    assert found(f"{CALIBRATION}:build_he_relu_mlp", "GL404") == []
