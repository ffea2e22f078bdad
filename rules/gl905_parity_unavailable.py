"""onnxruntime could not run the model, so the executor was not cross-checked.

## What it does
Notes that the onnxruntime half of the parity check failed (an op onnxruntime lacks, an
opset it refuses), so gradlint's executor results stand unchecked.

## Why it matters
Parity against onnxruntime is how gradlint knows its executor computes the model's function.
Without it the measurements are still made, but nobody double-checked them.

## Example
`model.onnx: GL905 [info] onnxruntime could not load the model: opset 6 is not supported`

## How to fix
Nothing in the model needs fixing; upgrade onnxruntime or re-export with a newer opset.
"""
from __future__ import annotations

from typing import Iterator

from gradlint.findings import Category, Finding, Severity
from gradlint.registry import Rule, RuleContext
from gradlint.rule_helpers import report_diagnostics


def check(ctx: RuleContext) -> Iterator[Finding]:
    yield from report_diagnostics(ctx, RULE, "parity-unavailable", fix=lambda d: "upgrade onnxruntime or re-export with a supported opset")


RULE = Rule(
    code="GL905",
    name="parity-unavailable",
    category=Category.TOOL,
    severity=Severity.INFO,
    check=check,
    doc=__doc__ or "",
)
