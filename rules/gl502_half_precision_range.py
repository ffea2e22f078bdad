"""Activations or gradients outside what float16 (or bfloat16) can hold: mixed-precision headroom.

## What it does
- Forward: a layer whose output RMS is above float16's max 65504 / `headroom` (default 8):
  its largest elements very likely overflow to Inf in float16 (a warning). bfloat16 shares
  float32's exponent range, so it only overflows where float32 does.
- Backward: the probe's gradient profile along the main path spanning more than float16's normal range
  (65504 / 6.1e-5 = 1.1e9) across layers: no single loss scale keeps every layer's gradient
  representable in float16 without underflowing some to zero (info; bfloat16 is fine).

## Why it matters
Mixed precision (torch.autocast float16) overflows to Inf on large activations, and a dynamic
loss scaler then skips every step; gradients below 6.1e-5 lose precision and flush to zero.

## Example
`relu_large_init_mlp: 30: GL502 [warning] output RMS 1.2e+04 is within 8x of float16's max
65504`.

## How to fix
Fix the scale at its source (init, normalization: GL201/GL401), train in bfloat16, or keep the
named layers in float32 under autocast.

## References
- Micikevicius et al. 2018, Mixed Precision Training.
- IEEE 754-2008 binary16; Google Brain bfloat16 format.
"""
from __future__ import annotations

import math
from dataclasses import replace
from typing import Iterator

from gradlint.findings import Category, Finding, Severity
from gradlint.registry import Rule, RuleContext
from gradlint.static_support import number, static_of
from gradlint.verdict import Basis, judged_finding

FLOAT16_MAX = 65504.0
FLOAT16_SMALLEST_NORMAL = 6.103515625e-05


def check(ctx: RuleContext) -> Iterator[Finding]:
    probe = ctx.facts.probe
    if probe is None:
        return
    headroom = ctx.threshold(RULE.code, "headroom", 8.0)
    limit = FLOAT16_MAX / headroom
    # Named at the last layer over the limit (in execution order), not the first: where a
    # smoothly growing stream first crosses a threshold depends on the probe seed, and two
    # near-equal peaks swap; a stream that stays large stays large to its end.
    sizes = [(math.hypot(p.mean or 0.0, p.std or 0.0), p.node) for p in probe.layers]
    sizes = [(rms, node) for rms, node in sizes if math.isfinite(rms) and rms > limit]
    if sizes:
        rms, node = sizes[-1]
        message = (
            f"output RMS {number(rms)} is within {number(headroom)}x of float16's max {number(FLOAT16_MAX)}"
            f" ({len(sizes)} layers above {number(limit)})"
        )
        evidence = {"rms": rms, "threshold": limit, "float16_max": FLOAT16_MAX, "layers": [n for _, n in sizes]}
        fix = "fix the activation scale (init, normalization), train in bfloat16, or keep these layers in float32 under autocast"
        yield judged_finding(RULE, ctx, node, message, fix, evidence, basis=Basis.MEASURED)
    yield from _gradient_range(ctx)


def _gradient_range(ctx: RuleContext) -> Iterator[Finding]:
    # The main path's gradients: a branch held near zero on purpose (LayerScale) is not a layer
    # whose gradient matters at full precision yet.
    measured = [ctx.facts.probe.layer(name) for name in static_of(ctx).main_path]
    values = [(p.grad_profile, p.node) for p in measured if p is not None and p.grad_profile and math.isfinite(p.grad_profile)]
    if len(values) < 2:
        return
    (low, low_node), (high, _) = min(values), max(values)
    span, usable = high / low, FLOAT16_MAX / FLOAT16_SMALLEST_NORMAL
    if span > usable:
        message = (
            f"gradients span {number(span)} across layers, beyond float16's normal range "
            f"{number(usable)}: no loss scale keeps them all (smallest at {low_node})"
        )
        evidence = {"span": span, "threshold": usable}
        fix = "fix the gradient flow (GL402), or train in bfloat16 rather than float16"
        finding = judged_finding(RULE, ctx, low_node, message, fix, evidence, basis=Basis.MEASURED)
        yield replace(finding, severity=Severity.INFO)


RULE = Rule(
    code="GL502",
    name="half-precision-range",
    category=Category.NUMERICS,
    severity=Severity.WARNING,
    check=check,
    doc=__doc__ or "",
)
