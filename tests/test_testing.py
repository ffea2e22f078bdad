"""assert_healthy and the pytest plugin's gradlint_check fixture, run by the real pytest."""
from __future__ import annotations

from pathlib import Path

import pytest
from integration_models import example_model, unsupported_op_model

from gradlint.findings import Category, Finding, Location, Severity
from gradlint.report.results import ModelReport
from gradlint.testing import failure_message

pytest_plugins = ["pytester"]


def test_fixture_fails_a_test_and_lists_the_codes(pytester: pytest.Pytester, tmp_path: Path) -> None:
    sigmoid = example_model("deep_sigmoid_mlp", tmp_path / "sigmoid.onnx")
    healthy = example_model("healthy_relu_mlp", tmp_path / "healthy.onnx")
    pytester.makepyfile(
        f"""
        def test_sigmoid_model(gradlint_check):
            gradlint_check({str(sigmoid)!r})

        def test_healthy_model(gradlint_check):
            report = gradlint_check({str(healthy)!r})
            assert report.models[0].probe.device == "cpu"
        """
    )
    result = pytester.runpytest("--gradlint-device=cpu")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*AssertionError: gradlint found * at or above 'error' in *sigmoid.onnx:*",
        "*  fc*: GL[0-9][0-9][0-9] [[]error[]] *: *",
        "*      fix: *",
    ])


def test_assert_healthy_on_a_module_and_its_options(pytester: pytest.Pytester, tmp_path: Path) -> None:
    custom = unsupported_op_model(tmp_path / "custom.onnx")
    pytester.makepyfile(
        f"""
        import torch
        from gradlint.testing import assert_healthy

        def test_module():
            torch.manual_seed(0)
            net = torch.nn.Sequential(torch.nn.Linear(8, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
            assert_healthy(net, torch.randn(4, 8), device="cpu")

        def test_ignored_rule_passes():
            assert_healthy({str(custom)!r}, ignore="GL901", device="cpu")
        """
    )
    pytester.runpytest().assert_outcomes(passed=2)


def test_failure_message_is_readable() -> None:
    def finding(code: str, node: str | None, severity: Severity, line: int | None) -> Finding:
        return Finding(code, "vanishing-gradient", Category.VANISHING, severity, node,
                       "gain 1e-9 across 24 layers", "use ReLU and He init", location=Location("net.py", line))

    failing = [finding("GL401", "fc3", Severity.ERROR, 14), finding("GL101", None, Severity.ERROR, None)]
    model = ModelReport("<net.Net>", "python", (*failing, finding("GL301", "fc1", Severity.INFO, 3)))
    assert failure_message(model, failing, Severity.ERROR).splitlines() == [
        "gradlint found 2 findings at or above 'error' in <net.Net>:",
        "  fc3 (net.py:14): GL401 [error] vanishing-gradient: gain 1e-9 across 24 layers",
        "      fix: use ReLU and He init",
        "  (model): GL101 [error] vanishing-gradient: gain 1e-9 across 24 layers",
        "      fix: use ReLU and He init",
        "  (and 1 below 'error', not counted)",
        "  `gradlint rule CODE` explains a rule.",
    ]
