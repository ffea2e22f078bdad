from __future__ import annotations

from measured_lint import found

CALIBRATION = "fixtures/calibration/models.py"


def test_bias_minus_3_kills_the_relu_units() -> None:
    (finding,) = found(f"{CALIBRATION}:build_relu_negative_bias_mlp", "GL303")
    assert finding.severity.value == "error"
    assert finding.evidence["worst"] == 1.0
    assert finding.evidence["verdict"] == "measured"


def test_he_relu_mlp_has_no_dead_layer() -> None:
    assert found(f"{CALIBRATION}:build_he_relu_mlp", "GL303") == []
