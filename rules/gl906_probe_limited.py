"""The probes ran with less than was asked, or not at all.

## What it does
Notes that the probe batch was reduced to fit in memory, that a probe phase failed on some
layers, or that no probe could run; the findings then rest on fewer measurements.

## Why it matters
Measured gradient rules need a probe of several samples. A smaller batch or missing layers
makes the statistics noisier and may hide a pathology.

## Example
`model.onnx: GL906 [warning] probe batch reduced from 8 to 2 to fit in memory`

## How to fix
Run on a machine with more memory, pass a smaller `--input-shape`, or `--device cuda`.
"""
from __future__ import annotations

from typing import Iterator

from gradlint.findings import Category, Finding, Severity
from gradlint.registry import Rule, RuleContext
from gradlint.rule_helpers import report_diagnostics


def check(ctx: RuleContext) -> Iterator[Finding]:
    for kind in ("probe-batch-reduced", "probe-failed", "probe-limited"):
        yield from report_diagnostics(
            ctx, RULE, kind, fix=lambda d: "run with more memory or a smaller --input-shape"
        )


RULE = Rule(
    code="GL906",
    name="probe-limited",
    category=Category.TOOL,
    severity=Severity.WARNING,
    check=check,
    doc=__doc__ or "",
)
