from __future__ import annotations

import torch
from onnx import TensorProto, helper

from gradlint.loaders.onnx.ops import registry
from tool_models import HEALTHY, codes, linear_then, lint, save


def test_an_executor_that_disagrees_with_onnxruntime_is_reported(tmp_path, monkeypatch):
    model = linear_then(
        [helper.make_node("Tanh", ["h"], ["y"], name="act")],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 3])],
    )
    monkeypatch.setitem(registry._TABLE, ("Tanh", ""), lambda ctx, inputs, attrs: [torch.tanh(inputs[0]) * 1.01])
    report = lint(save(model, tmp_path, "tanh.onnx"))
    assert "GL902" in codes(report)
    (finding,) = [f for f in report.findings if f.code == "GL902"]
    assert "y" in finding.message


def test_a_faithful_executor_passes_parity():
    assert "GL902" not in codes(lint(HEALTHY))
