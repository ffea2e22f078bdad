from __future__ import annotations

import pytest
from static_lint import CALIBRATION, codes, lint_static


@pytest.mark.parametrize(
    ("name", "radius"),
    [("lstm_large_recurrent", 5.0), ("lstm_tiny_recurrent", 0.05), ("rnn_large_recurrent", 3.0), ("rnn_tiny_recurrent", 0.1)],
)
def test_radii_far_from_one_trigger(name: str, radius: float, onnx_of) -> None:
    for target in (f"{CALIBRATION}:build_{name}", onnx_of(CALIBRATION, name)):
        findings = [f for f in lint_static(target) if f.code == "GL204"]
        assert len(findings) == 1, target
        assert findings[0].evidence["spectral_radius"] == pytest.approx(radius, rel=1e-3)


@pytest.mark.parametrize("name", ["lstm_default", "rnn_orthogonal"])
def test_default_and_orthogonal_recurrent_weights_do_not(name: str, onnx_of) -> None:
    assert "GL204" not in codes(lint_static(f"{CALIBRATION}:build_{name}"))
    assert "GL204" not in codes(lint_static(onnx_of(CALIBRATION, name)))
