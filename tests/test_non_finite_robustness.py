"""NaN or Inf in the weights, or made by the forward pass: always a report, never a crash.

The finding itself is GL501's (rules/gl501_non_finite.py); this checks the pipeline around it:
loading, parity, static analysis and probes all survive non-finite numbers.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from gradlint.api import LintSettings, lint_target
from gradlint.options import AnalysisOptions
from gradlint.registry import rule_table
from gradlint.report.json_format import render_json
from gradlint.report.results import Report
from gradlint.report.text import render_text

WIDTH = 8


def _mlp(path: Path, poison: str) -> Path:
    """Three Gemm+Relu layers; `poison` puts a NaN/Inf in layer 1's weight or makes one."""
    rng = np.random.default_rng(0)
    nodes, initializers, current = [], [], "x"
    for index in range(3):
        weight = rng.normal(0, np.sqrt(2 / WIDTH), (WIDTH, WIDTH)).astype(np.float32)
        if index == 1 and poison in ("nan-weight", "inf-weight"):
            weight[0, 0] = np.nan if poison == "nan-weight" else np.inf
        initializers.append(numpy_helper.from_array(weight, f"fc{index}.weight"))
        nodes.append(helper.make_node("Gemm", [current, f"fc{index}.weight"], [f"h{index}"],
                                      name=f"/fc{index}/Gemm", transB=1))
        current = f"h{index}"
        if index == 1 and poison in ("log-of-negative", "overflow"):
            # Log of a negative pre-activation is NaN; Exp of a huge one is Inf.
            scale = numpy_helper.from_array(np.array(1e30 if poison == "overflow" else 1.0, np.float32), "s")
            initializers.append(scale)
            op = "Exp" if poison == "overflow" else "Log"
            nodes.append(helper.make_node("Mul", [current, "s"], [f"{current}_scaled"], name="/fc1/Mul"))
            nodes.append(helper.make_node(op, [f"{current}_scaled"], [f"{current}_{op}"], name=f"/fc1/{op}"))
            current = f"{current}_{op}"
        nodes.append(helper.make_node("Relu", [current], [f"a{index}"], name=f"/act{index}/Relu"))
        current = f"a{index}"
    graph = helper.make_graph(
        nodes, "non_finite", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", WIDTH])],
        [helper.make_tensor_value_info(current, TensorProto.FLOAT, ["batch", WIDTH])], initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)
    onnx.save(model, path)
    return path


@pytest.mark.parametrize("poison", ["nan-weight", "inf-weight", "log-of-negative", "overflow"])
def test_non_finite_numbers_end_in_a_report(tmp_path: Path, poison: str) -> None:
    path = _mlp(tmp_path / f"{poison}.onnx", poison)
    report = lint_target(str(path), LintSettings(options=AnalysisOptions(device="cpu")))
    assert report.error is None, report.error
    whole = Report(models=(report,))
    render_text(whole)
    render_json(whole)
    if "GL501" in rule_table():
        numerics = {finding.node for finding in report.findings if finding.code == "GL501"}
        assert numerics, sorted(finding.code for finding in report.findings)
        if poison in ("log-of-negative", "nan-weight", "inf-weight"):  # fc1 makes or holds it
            assert "fc1" in numerics, numerics


def test_a_torch_factory_with_a_nan_weight_ends_in_a_report(tmp_path: Path) -> None:
    factory = tmp_path / "nan_model.py"
    factory.write_text(
        "import torch\n\n"
        "def build():\n"
        "    torch.manual_seed(0)\n"
        "    model = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.ReLU(), torch.nn.Linear(8, 8))\n"
        "    with torch.no_grad():\n"
        "        model[2].weight[0, 0] = float('nan')\n"
        "    return model, torch.randn(4, 8)\n"
    )
    report = lint_target(f"{factory}:build", LintSettings(options=AnalysisOptions(device="cpu")))
    assert report.error is None, report.error
    render_text(Report(models=(report,)))
    if "GL501" in rule_table():
        assert "GL501" in {finding.code for finding in report.findings}
