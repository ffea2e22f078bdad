from __future__ import annotations

from gradlint.options import InputOverrides
from tool_models import HEALTHY, codes, lint


def test_inputs_the_model_cannot_take_are_an_error_naming_the_node():
    report = lint(HEALTHY, probe=True, inputs=InputOverrides(shapes={"input": (8, 63)}))
    assert "GL907" in codes(report)
    (finding,) = [f for f in report.findings if f.code == "GL907"]
    assert finding.severity.value == "error"
    assert finding.node == "fc0"  # the layer covering the failing node /fc0/Gemm


def test_inputs_that_fit_run():
    assert "GL907" not in codes(lint(HEALTHY, probe=True))
