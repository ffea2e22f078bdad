"""An ONNX op gradlint's executor cannot run, so the model was not analysed.

## What it does
Reports every node (including nodes inside `If`/`Loop` subgraphs) whose op type and domain
have no entry in gradlint's ONNX-to-torch op table.

## Why it matters
gradlint measures gradients by running the model differentiably in PyTorch. Without every op
the model cannot run, no probe measures anything, and a clean report would be a false pass.

## Example
A model exported with a custom domain op such as `com.microsoft::FusedMatMul`:
`model.onnx:FusedMatMul_12: GL901 [error] op com.microsoft::FusedMatMul is not supported`.

## How to fix
Export without vendor-specific fusions (plain `torch.onnx.export`, no onnxruntime optimizer
pass), or lint the PyTorch model itself (`file.py:build`). Report the op to gradlint.

## References
- ONNX operator specs: https://onnx.ai/onnx/operators/
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
        "unsupported-op",
        fix=lambda d: "export the model without this op, or lint the PyTorch model directly",
    )


RULE = Rule(
    code="GL901",
    name="unsupported-op",
    category=Category.TOOL,
    severity=Severity.ERROR,
    check=check,
    doc=__doc__ or "",
)
