from __future__ import annotations

from gradlint.findings import Category, Finding, Location, Severity
from gradlint.report.results import ModelError, ModelReport, Report
from gradlint.report.text import render_statistics, render_text


def finding(code: str, node: str | None, severity: Severity) -> Finding:
    return Finding(code, "some-rule", Category.TOOL, severity, node, f"{code} fired", "do x",
                   location=Location("m.onnx"))


REPORT = Report(
    models=(
        ModelReport("m.onnx", "onnx", (finding("GL902", "fc1", Severity.ERROR), finding("GL903", None, Severity.INFO))),
        ModelReport("broken.onnx", None, error=ModelError("load", "not an ONNX model")),
    )
)


def test_one_line_per_finding_then_summary() -> None:
    assert render_text(REPORT) == (
        "m.onnx:fc1: GL902 [error] GL902 fired\n"
        "m.onnx: GL903 [info] GL903 fired\n"
        "Found 2 findings (1 error, 0 warnings, 1 info) in 1 model; 1 could not be analysed.\n"
    )


def test_fixes_shown_on_request() -> None:
    assert "  fix: do x\n" in render_text(REPORT, show_fixes=True)


def test_statistics_count_per_rule() -> None:
    text = render_statistics(Report((ModelReport("a", "onnx", (finding("GL902", "x", Severity.ERROR),) * 2),)))
    assert text.splitlines()[0] == "    2  GL902  [error] some-rule"


def test_exit_codes() -> None:
    clean = Report((ModelReport("a", "onnx", (finding("GL903", None, Severity.INFO),)),))
    assert clean.exit_code(Severity.ERROR) == 0
    assert clean.exit_code(Severity.INFO) == 1
    assert clean.exit_code(Severity.INFO, exit_zero=True) == 0
    assert REPORT.exit_code(Severity.ERROR, exit_zero=True) == 2
