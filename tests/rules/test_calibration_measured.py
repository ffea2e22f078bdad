"""The full pipeline (probes on) on a representative part of the calibration set: healthy
models and transformers architectures exit 0 with no measured warning, each pathology that
fails to train (MEASURED.md) is caught by its measured rule with exit 1. The whole set, with
ONNX exports and seeds 0..4: `python fixtures/calibration/verdicts.py --onnx --seeds 0 1 2 3 4`.
"""
from __future__ import annotations

import pytest
from measured_lint import exit_code, lint_measured
from static_lint import CALIBRATION, TRANSFORMERS

from gradlint.findings import Severity

MEASURED_CODES = ("GL303", "GL304", "GL401", "GL402", "GL403", "GL404", "GL501", "GL502")

HEALTHY = [
    f"{CALIBRATION}:build_he_relu_mlp",
    f"{CALIBRATION}:build_bn_resnet",
    # Raw gradient ratios look alarming here (MobileNetV2 566, ConvNeXt LayerScale 1e8 span,
    # BERT attention); none is a pathology.
    f"{TRANSFORMERS}:build_hf_mobilenet_v2",
    f"{TRANSFORMERS}:build_hf_convnext",
    f"{TRANSFORMERS}:build_hf_bert",
]
# Pathological models that do not train (MEASURED.md) and the measured rule that catches each.
CAUGHT_BY = {
    "deep_sigmoid_mlp": "GL402",
    "relu_large_init_mlp": "GL401",
    "deep_bn_relu_no_skip": "GL401",
    "deep_resnet_no_norm": "GL401",
    "relu_negative_bias_mlp": "GL303",
    "zero_weight_layer": "GL303",
}


@pytest.mark.parametrize("target", HEALTHY, ids=lambda t: t.rsplit("_", 1)[0].split("build_")[1])
def test_healthy_models_exit_0_without_measured_warnings(target: str) -> None:
    findings = lint_measured(target)
    assert exit_code(target) == 0, [(f.code, f.node, f.message) for f in findings]
    loud = [f for f in findings if f.code in MEASURED_CODES and f.severity.rank >= Severity.WARNING.rank]
    assert loud == []


@pytest.mark.parametrize("name", sorted(CAUGHT_BY))
def test_pathologies_that_do_not_train_are_caught_by_their_measured_rule(name: str) -> None:
    target = f"{CALIBRATION}:build_{name}"
    errors = {f.code for f in lint_measured(target) if f.severity is Severity.ERROR}
    assert CAUGHT_BY[name] in errors
    assert exit_code(target) == 1


def test_eval_mode_onnx_export_keeps_the_explosion(onnx_of) -> None:
    path = onnx_of(CALIBRATION, "relu_large_init_mlp")
    assert "GL401" in {f.code for f in lint_measured(path)}
    assert exit_code(onnx_of(CALIBRATION, "he_relu_mlp")) == 0
