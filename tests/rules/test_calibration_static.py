"""The static rules on the calibration set: healthy models pass, each pathology is caught by
its rule, as a Python factory and as an ONNX export (training mode, so BatchNorm stays)."""
from __future__ import annotations

import pytest
from static_lint import CALIBRATION, TRANSFORMERS, codes, factory, lint_static

CALIBRATION_MODELS = factory(CALIBRATION, "he_relu_mlp").__globals__["EXPECTED"]
TRANSFORMER_MODELS = factory(TRANSFORMERS, "hf_bert").__globals__["EXPECTED"]

# The rule that must catch each pathological calibration model.
CAUGHT_BY = {
    "deep_sigmoid_mlp": "GL301",
    "deep_sigmoid_cnn": "GL301",
    "chaotic_tanh_mlp": "GL201",
    "relu_small_init_mlp": "GL201",
    "relu_large_init_mlp": "GL201",
    "deep_bn_relu_no_skip": "GL103",
    "deep_resnet_no_norm": "GL104",
    "relu_negative_bias_mlp": "GL302",
    "constant_weight_mlp": "GL202",
    "zero_weight_layer": "GL203",
    "lstm_large_recurrent": "GL204",
    "lstm_tiny_recurrent": "GL204",
    "rnn_large_recurrent": "GL204",
    "rnn_tiny_recurrent": "GL204",
}
HEALTHY = sorted(name for name, (verdict, _) in CALIBRATION_MODELS.items() if verdict == "healthy")
# Exported in training mode so BatchNorm stays a BatchNormalization node (eval mode folds it into
# the convolutions: test_gl104 covers what gradlint then sees); the rest in eval mode.
WITH_BATCHNORM = ("bn_resnet", "deep_bn_relu_no_skip")
# TorchScript's exporter cannot export GPT-2's and LLaMA's masking code (aten::diff etc.).
EXPORTABLE_TRANSFORMERS = ("hf_resnet", "hf_convnext", "hf_vit", "hf_mobilenet_v2", "hf_bert")


def test_every_pathological_model_has_a_catching_rule() -> None:
    pathological = {name for name, (verdict, _) in CALIBRATION_MODELS.items() if verdict == "pathological"}
    assert pathological == set(CAUGHT_BY)


@pytest.mark.parametrize("name", HEALTHY)
def test_healthy_models_pass(name: str, onnx_of) -> None:
    assert lint_static(f"{CALIBRATION}:build_{name}") == []
    assert lint_static(onnx_of(CALIBRATION, name, training=name in WITH_BATCHNORM)) == []


@pytest.mark.parametrize("name", sorted(CAUGHT_BY))
def test_pathological_models_are_caught_by_their_rule(name: str, onnx_of) -> None:
    for target in (f"{CALIBRATION}:build_{name}", onnx_of(CALIBRATION, name, training=name in WITH_BATCHNORM)):
        found = codes(lint_static(target))
        assert CAUGHT_BY[name] in found, (target, found)


@pytest.mark.parametrize("name", sorted(TRANSFORMER_MODELS))
def test_transformers_architectures_pass(name: str) -> None:
    assert lint_static(f"{TRANSFORMERS}:build_{name}") == []


@pytest.mark.parametrize("name", EXPORTABLE_TRANSFORMERS)
def test_transformers_architectures_pass_as_training_mode_onnx(name: str, onnx_of) -> None:
    assert lint_static(onnx_of(TRANSFORMERS, name, training=True)) == []
