from __future__ import annotations

import pytest
from measured_lint import found

CALIBRATION = "fixtures/calibration/models.py"


@pytest.mark.parametrize(("name", "below"), [("deep_sigmoid_mlp", 1e-10), ("relu_small_init_mlp", 1e-5)])
def test_measured_vanishing_is_an_error(name: str, below: float) -> None:
    (finding,) = found(f"{CALIBRATION}:build_{name}", "GL402")
    assert finding.severity.value == "error"
    assert finding.evidence["measured_ratio"] < below


@pytest.mark.parametrize("name", ["short_sigmoid_mlp", "orthogonal_tanh_mlp"])
def test_short_sigmoid_and_orthogonal_tanh_do_not_vanish(name: str) -> None:
    assert found(f"{CALIBRATION}:build_{name}", "GL402") == []
