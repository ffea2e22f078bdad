from __future__ import annotations

from measured_lint import MEASURED_RULES, found

CALIBRATION = "fixtures/calibration/models.py"


def test_one_layer_30x_too_large_is_a_hotspot() -> None:
    (finding,) = found(f"{MEASURED_RULES}:build_hotspot_mlp", "GL403")
    assert finding.node == "4"
    assert finding.evidence["sigma_max"] > 10 * finding.evidence["median_sigma"]


def test_he_relu_mlp_has_no_hotspot() -> None:
    assert found(f"{CALIBRATION}:build_he_relu_mlp", "GL403") == []
