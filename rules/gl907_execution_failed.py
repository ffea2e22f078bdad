"""The model raised an error while gradlint ran it, so it was not analysed.

## What it does
Reports an exception raised while running the model on the probe inputs: a shape mismatch
between the synthesised inputs and what the model expects, an op that fails on these values,
or a bug in gradlint's executor. It names the node when the executor knows it.

## Why it matters
Nothing was measured. A clean report would be a false pass.

## Example
`model.onnx:/encoder/Reshape_3: GL907 [error] running the model failed: RuntimeError: shape '[8, 12, 64]' is invalid for input of size 3072`.

## How to fix
Pass the input shapes the model expects (`--input-shape NAME=DIMS`, `--batch-size`), and
integer ranges or control values (`--input-value`). If the inputs are right, report the model
to gradlint.
"""
from __future__ import annotations

from typing import Iterator

from gradlint.findings import Category, Finding, Severity
from gradlint.registry import Rule, RuleContext
from gradlint.rule_helpers import report_diagnostics


def check(ctx: RuleContext) -> Iterator[Finding]:
    yield from report_diagnostics(
        ctx,
        RULE,
        "execution-failed",
        fix=lambda d: "pass the input shapes and values the model expects (--input-shape, --input-value)",
    )


RULE = Rule(
    code="GL907",
    name="execution-failed",
    category=Category.TOOL,
    severity=Severity.ERROR,
    check=check,
    doc=__doc__ or "",
)
