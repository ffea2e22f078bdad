from __future__ import annotations

from measured_lint import found

CALIBRATION = "fixtures/calibration/models.py"


def test_activations_near_float16_max_warn() -> None:
    findings = found(f"{CALIBRATION}:build_relu_large_init_mlp", "GL502")
    assert [f.severity.value for f in findings] == ["warning"]
    assert findings[0].evidence["rms"] > 65504 / 8


def test_gradient_span_beyond_float16_is_info() -> None:
    (finding,) = found(f"{CALIBRATION}:build_deep_sigmoid_mlp", "GL502")
    assert finding.severity.value == "info"


def test_he_relu_mlp_fits_float16() -> None:
    assert found(f"{CALIBRATION}:build_he_relu_mlp", "GL502") == []
