"""Models exported by both torch exporters run in the executor, match onnxruntime, and backprop.

The exports come from fixtures/onnx_exports.py (cached under fixtures/generated/). An export
the torch exporter itself cannot do is an xfail carrying the exporter's reason.
"""
from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[3]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from fixtures.onnx_exports import (  # noqa: E402
    CASES,
    ExportedModel,
    ExportFailed,
    export_model,
)
from gradlint.loaders.onnx.executor import OnnxRunnable, build_runnable  # noqa: E402
from gradlint.loaders.onnx.parity import check_parity, relative_error  # noqa: E402

TOLERANCE = 1e-4


class Exports:
    """Exports and compiled runnables, made on first use and shared by the whole session."""

    def __init__(self) -> None:
        self._exported: dict[tuple[str, str], ExportedModel | ExportFailed] = {}

    def get(self, model: str, exporter: str) -> ExportedModel:
        key = (model, exporter)
        if key not in self._exported:
            try:
                self._exported[key] = export_model(model, exporter)
            except ExportFailed as failure:
                self._exported[key] = failure
        found = self._exported[key]
        if isinstance(found, ExportFailed):
            pytest.xfail(f"the {exporter} exporter cannot export {model}: {found.reason}")
        return found

    def runnable(self, exported: ExportedModel) -> OnnxRunnable:
        runnable, diagnostics = build_runnable(exported.load())
        assert runnable is not None, [d.message for d in diagnostics]
        return runnable


@pytest.fixture(scope="session")
def exports() -> Exports:
    return Exports()


@pytest.mark.parametrize("model, exporter", CASES)
def test_matches_onnxruntime(exports, model, exporter):
    exported = exports.get(model, exporter)
    result = check_parity(exported.load(), exports.runnable(exported), exported.inputs, TOLERANCE)
    assert result.passed, dict(result.per_output)
    assert result.max_relative_error < TOLERANCE


@pytest.mark.parametrize("model, exporter", CASES)
def test_backward_gives_finite_gradients(exports, model, exporter):
    exported = exports.get(model, exporter)
    runnable = exports.runnable(exported)
    runnable.set_norm_mode("batch")  # the training semantics gradlint probes in
    inputs = dict(exported.inputs)
    for name in exported.float_inputs:
        inputs[name] = inputs[name].clone().requires_grad_()
    # Weights, not the scalar constants exporters store as initializers: the gradient with
    # respect to a Pow exponent of 3.0 is NaN wherever the base is negative, and correctly so.
    weights = [t.requires_grad_() for _, t in runnable.named_parameters() if t.numel() > 1]
    outputs = runnable.forward(inputs)
    total = sum(value.sum() for value in outputs.values() if value.is_floating_point())
    total.backward()
    grads = [inputs[name].grad for name in exported.float_inputs] or [w.grad for w in weights]
    assert grads and all(grad is not None for grad in grads)
    assert all(torch.isfinite(grad).all() for grad in grads)
    assert any(grad.abs().sum() > 0 for grad in grads)


def test_bn_folding_is_visible_in_the_exports(exports):
    """Conv -> BN folds into the Conv in eval exports; a BN after a ReLU cannot fold."""
    for exporter in ("dynamo", "legacy", "legacy-opset13"):
        ops = exports.get("cnn_batchnorm", exporter).op_types
        assert "BatchNormalization" in ops and "Conv" in ops
        resnet = exports.get("resnet", exporter).op_types
        assert "BatchNormalization" not in resnet


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
@pytest.mark.parametrize("model, exporter", [
    ("unet", "dynamo"),
    ("hf_bert", "dynamo"),
    ("hf_llama", "legacy"),
    ("hf_llama", "dynamo-opset23"),
])
def test_runs_on_cuda_as_on_cpu(exports, model, exporter):
    """The exporter-only ops (Resize, ConvTranspose, GatherND, Sin/Cos, Attention) on CUDA."""
    exported = exports.get(model, exporter)
    runnable = exports.runnable(exported)
    runnable.set_norm_mode("running")
    with torch.no_grad():
        on_cpu = runnable.forward(exported.inputs)
        on_cuda = runnable.to("cuda").forward(exported.inputs)
    for name, value in on_cpu.items():
        # cuDNN may use TF32 for convolutions: 1e-3 rather than the CPU parity tolerance
        assert relative_error(on_cuda[name].cpu().numpy(), value.numpy()) < 1e-3
