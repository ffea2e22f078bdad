"""load_onnx end to end: specs, layers, and an executor whose taps see every layer."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import helper
from onnx_graphs import MODELS_DIR, float_input, mlp, model, residual_block, save

from gradlint.analysis.probe_inputs import make_probe_inputs
from gradlint.loaders.onnx import load_onnx
from gradlint.model import LayerKind, LoadedModel
from gradlint.options import AnalysisOptions, InputOverrides


def _tapped_forward(loaded: LoadedModel) -> tuple[list[str], dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    inputs = make_probe_inputs(loaded.inputs, seed=0)
    seen: list[str] = []

    def tap(name: str, layer_inputs: object, output: torch.Tensor) -> torch.Tensor:
        seen.append(name)
        return output

    assert loaded.runnable is not None
    with torch.no_grad():
        outputs = loaded.runnable.forward(inputs, tap)
    return seen, outputs, inputs


def _inner_layers(loaded: LoadedModel) -> list[str]:
    return [l.name for l in loaded.graph if l.kind not in (LayerKind.INPUT, LayerKind.OUTPUT)]


@pytest.mark.parametrize("build", [mlp, residual_block], ids=["mlp", "residual"])
def test_every_layer_is_tapped_and_outputs_match_onnxruntime(tmp_path: Path, build) -> None:
    loaded = load_onnx(save(build(), tmp_path / "m.onnx"), AnalysisOptions(batch_size=3))
    assert loaded.format == "onnx" and isinstance(loaded.source, onnx.ModelProto)
    assert [spec.shape[0] for spec in loaded.inputs] == [3]
    seen, outputs, inputs = _tapped_forward(loaded)
    assert set(_inner_layers(loaded)) <= set(seen)
    session = ort.InferenceSession(loaded.source.SerializeToString(), providers=["CPUExecutionProvider"])
    (reference,) = session.run(None, {k: v.numpy() for k, v in inputs.items()})
    np.testing.assert_allclose(outputs["y"].numpy(), reference, rtol=1e-5, atol=1e-6)


def test_unsupported_op_keeps_the_graph_and_says_why(tmp_path: Path) -> None:
    nodes = [helper.make_node("Relu", ["x"], ["h"], name="/act/Relu"),
             helper.make_node("Frobnicate", ["h"], ["y"], name="/custom/Frobnicate", domain="com.example")]
    proto = model(nodes, [float_input("x", ["N", 4])], ["y"], extra_opsets=[("com.example", 1)])
    loaded = load_onnx(save(proto, tmp_path / "m.onnx"), AnalysisOptions())
    assert loaded.runnable is None
    assert [(d.kind, d.node) for d in loaded.diagnostics] == [("unsupported-op", "/custom/Frobnicate")]
    assert "act" in loaded.graph


@pytest.mark.skipif(not MODELS_DIR.exists(), reason="shared real models not present")
def test_silero_branches_are_tapped() -> None:
    options = AnalysisOptions(inputs=InputOverrides(shapes={"input": (1, 512)}, values={"sr": 16000}))
    loaded = load_onnx(MODELS_DIR / "lstm__silero_vad_v5.onnx", options)
    assert [d.kind for d in loaded.diagnostics] == ["if-inlined"]
    seen, outputs, _ = _tapped_forward(loaded)
    assert "decoder.rnn" in seen and "encoder.3.reparam_conv" in seen
    assert set(_inner_layers(loaded)) <= set(seen)
    assert outputs["output"].shape == (1, 1)
