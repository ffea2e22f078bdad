"""Output post-processing was cut off before analysis.

## What it does
Notes that trailing non-differentiable post-processing (the `ai.onnx.ml` domain: `ZipMap`,
`ArrayFeatureExtractor`, and the `ArgMax` that only feeds them) was removed, and names the
float tensors that became the analysed outputs instead.

## Why it matters
Gradients do not flow through label lookups or dictionaries; training happens on the scores
before them. Saying what was cut keeps the report honest about what was analysed.

## Example
`model.onnx:ZipMap_0: GL903 [info] cut post-processing ZipMap, ArrayFeatureExtractor; analysing 'softmaxout_1'`.

## How to fix
Nothing to fix. Export the model without post-processing to silence it, or ignore GL903.

## References
- ONNX-ML operators: https://onnx.ai/onnx/operators/#ai-onnx-ml
"""
from __future__ import annotations

from typing import Iterator

from gradlint.findings import Category, Finding, Severity
from gradlint.registry import Rule, RuleContext
from gradlint.rule_helpers import report_diagnostics


def check(ctx: RuleContext) -> Iterator[Finding]:
    yield from report_diagnostics(
        ctx, RULE, "postprocessing-cut", fix=lambda d: "nothing to fix; ignore GL903 to hide it"
    )


RULE = Rule(
    code="GL903",
    name="postprocessing-cut",
    category=Category.TOOL,
    severity=Severity.INFO,
    check=check,
    doc=__doc__ or "",
)
