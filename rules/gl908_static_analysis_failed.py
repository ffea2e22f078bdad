"""gradlint's static analysis failed on this model, so the static rules stayed silent.

## What it does
Reports that computing the static facts (main path, mean-field variance map, weight
statistics) raised an error on this model; the rules that read those facts then say nothing.

## Why it matters
Silence from GL1xx/GL2xx/GL3xx rules is only a pass when the analysis behind them ran. This
finding keeps a gradlint bug from looking like a healthy model.

## Example
`model.onnx: GL908 [warning] static analysis failed: ValueError: ...`

## How to fix
Report the model to gradlint. The measured rules (GL4xx) still ran when a probe did.
"""
from __future__ import annotations

from typing import Iterator

from gradlint.findings import Category, Finding, Severity
from gradlint.registry import Rule, RuleContext
from gradlint.rule_helpers import report_diagnostics


def check(ctx: RuleContext) -> Iterator[Finding]:
    yield from report_diagnostics(
        ctx, RULE, "static-failed", fix=lambda d: "report this model to gradlint"
    )


RULE = Rule(
    code="GL908",
    name="static-analysis-failed",
    category=Category.TOOL,
    severity=Severity.WARNING,
    check=check,
    doc=__doc__ or "",
)
