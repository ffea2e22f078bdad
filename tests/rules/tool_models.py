"""Small ONNX models and a quick lint helper for the GL9xx tool-health rule tests."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from gradlint.api import LintSettings, lint_target
from gradlint.options import AnalysisOptions
from gradlint.report.results import ModelReport

EXAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "examples"
HEALTHY = str(EXAMPLES / "healthy_relu_mlp.onnx")


def lint(path: str | Path, probe: bool = False, **options: object) -> ModelReport:
    settings = LintSettings(options=AnalysisOptions(probe=probe, **options))
    return lint_target(str(path), settings)


def codes(report: ModelReport) -> list[str]:
    assert report.error is None, report.error
    return [finding.code for finding in report.findings]


def save(model: onnx.ModelProto, folder: Path, name: str) -> Path:
    path = folder / name
    onnx.save(model, path)
    return path


def linear_then(nodes: list[onnx.NodeProto], outputs: list[onnx.ValueInfoProto],
                opsets: list[onnx.OperatorSetIdProto] | None = None) -> onnx.ModelProto:
    """x[2,4] -> MatMul(w) -> h, then `nodes` reading h."""
    weight = numpy_helper.from_array(np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32), "w")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["h"], name="fc"), *nodes],
        "tool",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 4])],
        outputs,
        [weight],
    )
    return helper.make_model(
        graph, opset_imports=opsets or [helper.make_opsetid("", 17)], ir_version=8
    )
