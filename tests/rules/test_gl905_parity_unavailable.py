from __future__ import annotations

from gradlint.loaders.onnx import parity_runtime
from tool_models import HEALTHY, codes, lint


def test_onnxruntime_refusing_the_model_is_an_info(monkeypatch):
    def refuse(model):
        raise RuntimeError("this onnxruntime cannot load the model")

    monkeypatch.setattr(parity_runtime, "_session", refuse)
    report = lint(HEALTHY)
    assert "GL905" in codes(report)
    assert all(f.severity.value == "info" for f in report.findings if f.code == "GL905")


def test_a_model_onnxruntime_runs_has_none():
    assert "GL905" not in codes(lint(HEALTHY))
