"""`assert_healthy`: gradlint as an assertion in a test suite.

    def test_model_trains(gradlint_check):          # the pytest plugin's fixture
        gradlint_check(build_model(), torch.randn(4, 3, 32, 32))

fails the test with every finding at or above `fail_on` (default: the configured `fail-on`,
else `error`) listed one per line with its code, layer, source line and fix.
"""
from __future__ import annotations

from typing import Any

from gradlint.findings import Finding, Severity
from gradlint.lint_api import lint_model, settings_from_options
from gradlint.report.results import ModelReport, Report


def assert_healthy(model: Any, example_inputs: Any = None, **options: Any) -> Report:
    """Lint `model` (an nn.Module, a model file or `file.py:factory`); raise AssertionError
    listing the findings that reach `fail_on`. Returns the report when the model passes."""
    settings = settings_from_options(**options)
    result = lint_model(model, example_inputs, settings)
    if result.error is not None:
        raise AssertionError(f"gradlint could not analyse {result.path}: {result.error.message}")
    fail_on = settings.policy.fail_on
    failing = [f for f in result.findings if f.severity.rank >= fail_on.rank]
    if failing:
        raise AssertionError(failure_message(result, failing, fail_on))
    return Report(models=(result,))


def failure_message(model: ModelReport, failing: list[Finding], fail_on: Severity) -> str:
    count = len(failing)
    lines = [
        f"gradlint found {count} finding{'s' if count != 1 else ''} at or above "
        f"'{fail_on.value}' in {model.path}:"
    ]
    for finding in failing:
        lines.append(f"  {_where(finding)}: {finding.code} [{finding.severity.value}] "
                     f"{finding.name}: {finding.message}")
        if finding.fix:
            lines.append(f"      fix: {finding.fix}")
    below = len(model.findings) - count
    if below:
        lines.append(f"  (and {below} below '{fail_on.value}', not counted)")
    lines.append("  `gradlint rule CODE` explains a rule.")
    return "\n".join(lines)


def _where(finding: Finding) -> str:
    layer = finding.node or "(model)"
    location = finding.location
    if location is not None and location.line is not None:
        return f"{layer} ({location.path}:{location.line})"
    return layer
