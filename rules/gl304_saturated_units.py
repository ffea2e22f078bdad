"""Saturating units (sigmoid, tanh, hardsigmoid, relu6, ...) stuck where their slope is ~0.

## What it does
Reads the forward probe's saturated fraction (units whose pre-activation lies where the
activation's derivative is below 7.1% of its maximum; see gradlint.analysis.probe.saturation)
and fires at layers where it is at least `min_saturated` (default 0.25).

## Why it matters
A saturated unit passes almost no gradient: a layer with a quarter of its units saturated
learns through the rest only, and saturation compounds with depth. Glorot tanh stacks measured
here saturate 2% of units; tanh with sigma_w = 2.5 (the chaotic phase) 41%.

## Example
`chaotic_tanh_mlp: 0: GL304 [warning] 42% of the tanh units are saturated (threshold 25%)`.

## How to fix
Scale the init down (Glorot/LeCun for tanh, orthogonal gain 1), normalize before the
activation, or use a non-saturating activation.

## References
- Glorot & Bengio 2010, Understanding the difficulty of training deep feedforward networks.
- Poole et al. 2016, Exponential expressivity in deep neural networks through transient chaos.
"""
from __future__ import annotations

from typing import Iterator

from gradlint.findings import Category, Finding, Severity
from gradlint.registry import Rule, RuleContext
from gradlint.verdict import Basis, judged_finding


def check(ctx: RuleContext) -> Iterator[Finding]:
    probe = ctx.facts.probe
    if probe is None:
        return
    low = ctx.threshold(RULE.code, "min_saturated", 0.25)
    flagged = [p for p in probe.layers if p.saturated_fraction is not None and p.saturated_fraction >= low]
    if not flagged:
        return
    first = flagged[0]
    worst = max(p.saturated_fraction or 0.0 for p in flagged)
    node = first.node
    activation = ctx.model.graph.layer(node).activation if node in ctx.model.graph else None
    more = f"; {len(flagged) - 1} more layers likewise, up to {worst:.0%}" if len(flagged) > 1 else ""
    message = f"{first.saturated_fraction:.0%} of the {activation or 'saturating'} units are saturated (threshold {low:.0%}){more}"
    evidence = {"saturated_fraction": first.saturated_fraction, "worst": worst, "threshold": low, "layers": [p.node for p in flagged]}
    fix = "scale the init down (Glorot/LeCun or orthogonal gain 1 for tanh), normalize before the activation, or use ReLU/GELU"
    yield judged_finding(RULE, ctx, node, message, fix, evidence, basis=Basis.MEASURED)


RULE = Rule(
    code="GL304",
    name="saturated-units",
    category=Category.SATURATION,
    severity=Severity.WARNING,
    check=check,
    doc=__doc__ or "",
)
