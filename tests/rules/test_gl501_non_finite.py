from __future__ import annotations

from measured_lint import MEASURED_RULES, found

CALIBRATION = "fixtures/calibration/models.py"


def test_a_nan_weight_is_named_at_its_layer() -> None:
    (finding,) = found(f"{MEASURED_RULES}:build_nan_weight_mlp", "GL501")
    assert finding.node == "2"
    assert finding.severity.value == "error"


def test_finite_model_passes() -> None:
    assert found(f"{CALIBRATION}:build_he_relu_mlp", "GL501") == []
