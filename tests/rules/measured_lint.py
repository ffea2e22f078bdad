"""Helpers for the measured rules' tests: the full pipeline (probes on), once per target.

`lint_measured(target)` runs `gradlint.api.lint_target` with default settings (seed 0) and
caches the report, so the rule tests and the calibration test share the probe runs.
"""
from __future__ import annotations

import functools
import warnings

from static_lint import _absolute

from gradlint.api import LintSettings, lint_target
from gradlint.findings import Finding
from gradlint.report.results import ModelReport, Report

MEASURED_RULES = "fixtures/measured_rule_models.py"


@functools.lru_cache(maxsize=None)
def report_of(target: str) -> ModelReport:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = lint_target(_absolute(target), LintSettings())
    assert report.error is None, report.error
    return report


def lint_measured(target: str) -> list[Finding]:
    return list(report_of(target).findings)


def exit_code(target: str) -> int:
    return Report(models=(report_of(target),)).exit_code(LintSettings().policy.fail_on)


def found(target: str, code: str) -> list[Finding]:
    return [finding for finding in lint_measured(target) if finding.code == code]
