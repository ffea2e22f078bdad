"""NaN or Inf in the weights, the forward pass, or the backward pass.

## What it does
Checks every weight layer's weight statistics, every probed layer's output (NaN/Inf counts),
its gradient norm, and every parameter's weight and gradient norms; names the first layer (in
execution order) where a non-finite value appears.

## Why it matters
One NaN propagates to every parameter at the first update: the model cannot train at all.

## Example
`nan_bias_mlp: 2: GL501 [error] forward output has 12 NaN and 0 Inf values`.

## How to fix
Look at the named layer: a division by a zero norm (add eps), a log/sqrt of a negative or zero
value, an overflowing exp (subtract the max before softmax), or weights loaded with NaNs.

## References
- IEEE 754 arithmetic: NaN propagates through every operation.
- Micikevicius et al. 2018, Mixed Precision Training (overflow to Inf).
"""
from __future__ import annotations

import math
from typing import Iterator

from gradlint.findings import Category, Finding, Severity
from gradlint.registry import Rule, RuleContext
from gradlint.verdict import Basis, judged_finding


def check(ctx: RuleContext) -> Iterator[Finding]:
    problems = list(_problems(ctx))
    if not problems:
        return
    node, what = problems[0]
    message = what + (f"; {len(problems) - 1} more places" if len(problems) > 1 else "")
    evidence = {"places": [f"{n}: {w}" for n, w in problems[:20]], "count": len(problems)}
    fix = "fix the named layer: eps in divisions and norms, clamp before log/sqrt, max-subtracted softmax, finite weights"
    yield judged_finding(RULE, ctx, node, message, fix, evidence, basis=Basis.MEASURED)


def _problems(ctx: RuleContext) -> Iterator[tuple[str | None, str]]:
    """Where the non-finite values start: bad weights, then the first forward output that
    holds them, then the backward gradient nearest the output (backward runs output-first,
    so that is where a NaN gradient is born; every layer below merely inherits it)."""
    for layer in ctx.model.graph.layers():
        stats = layer.weight
        if stats is not None and (not stats.finite or not all(math.isfinite(v) for v in (stats.mean, stats.std, stats.abs_max))):
            yield layer.name, "the weights hold NaN or Inf"
    probe = ctx.facts.probe
    if probe is None:
        return
    for p in probe.layers:
        if p.nan_count or p.inf_count:
            yield p.node, f"forward output has {p.nan_count} NaN and {p.inf_count} Inf values"
    for p in reversed(probe.layers):
        if p.grad_norm is not None and not math.isfinite(p.grad_norm):
            yield p.node, f"backward gradient norm is {p.grad_norm}"
            break
    for parameter in probe.parameters:
        if not math.isfinite(parameter.weight_norm) or (parameter.grad_norm is not None and not math.isfinite(parameter.grad_norm)):
            yield None, f"parameter {parameter.name}: weight norm {parameter.weight_norm}, gradient norm {parameter.grad_norm}"


RULE = Rule(
    code="GL501",
    name="non-finite",
    category=Category.NUMERICS,
    severity=Severity.ERROR,
    check=check,
    doc=__doc__ or "",
)
