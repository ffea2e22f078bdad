"""analyse: parity reads the probe's forward when that forward is the reference-mode one."""
from __future__ import annotations

from pathlib import Path

import pytest
from onnx import helper

from gradlint.analysis.pipeline import analyse
from gradlint.analysis.probe_inputs import make_probe_inputs
from gradlint.loaders import load_model
from gradlint.loaders.onnx import parity, parity_compare
from gradlint.loaders.onnx.parity import check_parity, probe_forward_serves_parity
from gradlint.options import AnalysisOptions
from tests.loaders.onnx.onnx_graphs import conv_bn_relu, float_input, mlp, model, save


def _reference_forwards(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls: list[int] = []
    original = parity_compare.run_executor_reference_mode

    def counted(runnable, inputs):
        calls.append(1)
        return original(runnable, inputs)

    monkeypatch.setattr(parity, "run_executor_reference_mode", counted)
    return calls


def test_parity_of_a_model_without_batch_norm_reuses_the_probe_forward(tmp_path: Path, monkeypatch) -> None:
    loaded = load_model(str(save(mlp(activation="Tanh"), tmp_path / "mlp.onnx")), AnalysisOptions())
    alone = check_parity(loaded.source, loaded.runnable, make_probe_inputs(loaded.inputs, 0, "cpu"))
    calls = _reference_forwards(monkeypatch)
    facts = analyse(loaded, AnalysisOptions())
    assert calls == [] and facts.probe is not None
    assert facts.parity.passed
    assert facts.parity.max_relative_error == pytest.approx(alone.max_relative_error, abs=1e-9)


def test_batch_norm_keeps_the_reference_mode_forward(tmp_path: Path, monkeypatch) -> None:
    loaded = load_model(str(save(conv_bn_relu(), tmp_path / "bn.onnx")), AnalysisOptions())
    calls = _reference_forwards(monkeypatch)
    facts = analyse(loaded, AnalysisOptions())
    assert calls == [1] and facts.parity.passed


def test_parity_without_the_probe_runs_the_executor(tmp_path: Path, monkeypatch) -> None:
    loaded = load_model(str(save(mlp(), tmp_path / "mlp.onnx")), AnalysisOptions(probe=False))
    calls = _reference_forwards(monkeypatch)
    assert analyse(loaded, AnalysisOptions(probe=False)).parity.passed and calls == [1]


def test_batch_norm_inside_a_branch_counts() -> None:
    branch = helper.make_graph(
        [helper.make_node("BatchNormalization", ["x", "s", "b", "m", "v"], ["y"])], "then", [], [float_input("y", [2])]
    )
    node = helper.make_node("If", ["c"], ["y"], then_branch=branch, else_branch=branch)
    assert not probe_forward_serves_parity(model([node], [float_input("x", [2])], ["y"]))
    assert probe_forward_serves_parity(mlp())
