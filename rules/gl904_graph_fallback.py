"""The layer graph came from module hooks because torch.export failed.

## What it does
Notes that `torch.export.export(strict=False)` could not trace the model, so layers were read
from forward hooks on leaf modules instead, in execution order.

## Why it matters
Hook-based graphs know which modules ran but not how data flowed between them: residual
merges and concatenations are invisible, so depth and skip-connection rules see a chain.

## Example
`model.py:build: GL904 [info] torch.export failed (data-dependent control flow); layers from hooks`

## How to fix
Make the model exportable (avoid Python control flow on tensor values), or ignore GL904.
"""
from __future__ import annotations

from typing import Iterator

from gradlint.findings import Category, Finding, Severity
from gradlint.registry import Rule, RuleContext
from gradlint.rule_helpers import report_diagnostics


def check(ctx: RuleContext) -> Iterator[Finding]:
    yield from report_diagnostics(ctx, RULE, "graph-fallback", fix=lambda d: "make the model traceable by torch.export, or ignore GL904")


RULE = Rule(
    code="GL904",
    name="graph-fallback",
    category=Category.TOOL,
    severity=Severity.INFO,
    check=check,
    doc=__doc__ or "",
)
