from __future__ import annotations

from measured_lint import found

CALIBRATION = "fixtures/calibration/models.py"


def test_chaotic_tanh_saturates_its_units() -> None:
    (finding,) = found(f"{CALIBRATION}:build_chaotic_tanh_mlp", "GL304")
    assert finding.severity.value == "warning"
    assert finding.evidence["saturated_fraction"] > 0.3


def test_glorot_tanh_does_not_saturate() -> None:
    assert found(f"{CALIBRATION}:build_xavier_tanh_mlp", "GL304") == []
