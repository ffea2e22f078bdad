"""gradlint's executor disagrees with onnxruntime, so its measurements are not trusted.

## What it does
Runs onnxruntime and gradlint's ONNX-to-torch executor on the same probe inputs, in the
model's inference semantics (stored normalization statistics), and reports an output whose
relative error `max|executor - onnxruntime| / max|onnxruntime|` exceeds the tolerance
(default 1e-4 in float32).

## Why it matters
Every gradient gradlint measures comes from its own executor. If the executor computes a
different function than the runtime that will serve the model, the findings describe some
other model.

## Example
`model.onnx:/blocks.3/Resize: GL902 [error] output 'logits' differs from onnxruntime by 3.1e-02`.

## How to fix
This is a gradlint bug: report it with the model. Meanwhile lint the PyTorch source model.
Raise the tolerance with `[tool.gradlint.thresholds] GL902 = { tolerance = 1e-3 }` only for
models whose float32 arithmetic is known to be ill-conditioned.

## References
- onnxruntime: https://onnxruntime.ai/docs/
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
        "parity-mismatch",
        fix=lambda d: "report this model to gradlint; lint the PyTorch model meanwhile",
    )


RULE = Rule(
    code="GL902",
    name="parity-mismatch",
    category=Category.TOOL,
    severity=Severity.ERROR,
    check=check,
    doc=__doc__ or "",
)
