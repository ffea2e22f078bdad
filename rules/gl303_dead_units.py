"""ReLU-family units that output zero for every probe sample: dead at initialisation.

## What it does
Reads the forward probe's dead fraction (units -- neurons, or channel-positions -- exactly
zero for every sample of the probe batch) at every ReLU-family layer and fires where it is at
least `min_dead` (default 0.6); an error where at least `error_dead` (default 0.95).

## Why it matters
A dead ReLU passes no gradient to the weights feeding it and never recovers. Healthy He-init
ReLU stacks measured here keep at most 45% of a deep layer's units dead on an 8-sample probe
(chance coincidences); a large negative bias or a zero weight layer kills all of them.

## Example
`relu_negative_bias_mlp: 3: GL303 [error] 100% of the relu units are zero for every probe
sample (threshold 60%)`.

## How to fix
Zero (or small positive) biases before ReLU, He init, a norm before the activation, or
LeakyReLU/GELU where units must not die.

## References
- Lu et al. 2019, Dying ReLU and Initialization: Theory and Numerical Examples.
- He et al. 2015, Delving Deep into Rectifiers.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Iterator

from gradlint.analysis.static_variance import RELU_FAMILY
from gradlint.findings import Category, Finding, Severity
from gradlint.registry import Rule, RuleContext
from gradlint.verdict import Basis, judged_finding


def check(ctx: RuleContext) -> Iterator[Finding]:
    probe = ctx.facts.probe
    if probe is None:
        return
    low = ctx.threshold(RULE.code, "min_dead", 0.6)
    high = ctx.threshold(RULE.code, "error_dead", 0.95)
    graph = ctx.model.graph
    flagged = [
        p for p in probe.layers
        if p.dead_fraction is not None and p.dead_fraction >= low
        and p.node in graph and graph.layer(p.node).activation in RELU_FAMILY
    ]
    if not flagged:
        return
    first, worst = flagged[0], max(p.dead_fraction or 0.0 for p in flagged)
    activation = graph.layer(first.node).activation
    message = (
        f"{first.dead_fraction:.0%} of the {activation} units are zero for every probe sample "
        f"(threshold {low:.0%})" + (f"; {len(flagged) - 1} more layers likewise, up to {worst:.0%}" if len(flagged) > 1 else "")
    )
    evidence = {"dead_fraction": first.dead_fraction, "worst": worst, "threshold": low, "layers": [p.node for p in flagged]}
    fix = "initialise biases to 0 (or 0.01) and weights with He init, normalize before the ReLU, or use LeakyReLU/GELU"
    finding = judged_finding(RULE, ctx, first.node, message, fix, evidence, basis=Basis.MEASURED)
    yield finding if worst >= high else _warning(finding)


def _warning(finding: Finding) -> Finding:
    return replace(finding, severity=Severity.WARNING)


RULE = Rule(
    code="GL303",
    name="dead-units",
    category=Category.DEAD_UNITS,
    severity=Severity.ERROR,
    check=check,
    doc=__doc__ or "",
)
