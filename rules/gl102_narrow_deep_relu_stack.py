"""Hanin's width criterion: a ReLU stack too narrow for its depth has wildly fluctuating gradients.

## What it does
Sums 1/width over the hidden ReLU-family layers of the model's plain stacks (main-path weight
layers without normalization or skips; width = output units, or channels for convolutions):
Hanin's beta. Fires when beta exceeds `max_beta` (default 1, i.e. the stack is about as deep
as it is wide).

## Why it matters
Mean-field theory (GL201) fixes the *mean* squared gradient with He init, but at finite width
the squared gradient entries fluctuate from input to input and from init to init, with a
variance exponential in beta = sum 1/n_j. A net with beta of order 1 or more has gradients
that vary wildly between runs and inputs: a manageable net needs hidden layers about as wide
as the net is deep.

## Example
`narrow_deep_relu_mlp: 0: GL102 [warning] Hanin's beta = sum(1/width) = 2.4 over 19 hidden
relu layers (above 1): gradient magnitudes fluctuate by e^(c*beta) between inputs`.

## How to fix
Make the hidden layers wider (width comparable to or larger than depth), use fewer layers,
or add residual connections with scaled branches and normalization.

## References
- Hanin 2018, Which Neural Net Architectures Give Rise to Exploding and Vanishing Gradients?
  (NeurIPS).
- Hanin & Rolnick 2018, How to Start Training: The Effect of Initialization and Architecture.
"""
from __future__ import annotations

from typing import Iterator

from gradlint.findings import Category, Finding, Severity
from gradlint.registry import Rule, RuleContext
from gradlint.static_support import number, static_of
from gradlint.verdict import judged_finding


def check(ctx: RuleContext) -> Iterator[Finding]:
    max_beta = ctx.threshold(RULE.code, "max_beta", 1.0)
    facts = static_of(ctx)
    beta = facts.hanin_beta
    if beta <= max_beta or not facts.hanin_widths:
        return
    widths = [width for _, width in facts.hanin_widths]
    message = (
        f"Hanin's beta = sum(1/width) = {number(beta)} over {len(widths)} hidden relu layers "
        f"(above {number(max_beta)}): gradient magnitudes fluctuate by e^(c*beta) between inputs"
    )
    evidence = {
        "beta": beta,
        "threshold": max_beta,
        "hidden_layers": len(widths),
        "narrowest_width": min(widths),
    }
    fix = f"widen the hidden layers (narrowest is {min(widths)}; aim for width >= depth) or use fewer layers"
    yield judged_finding(RULE, ctx, facts.hanin_widths[0][0], message, fix, evidence)


RULE = Rule(
    code="GL102",
    name="narrow-deep-relu-stack",
    category=Category.DEPTH,
    severity=Severity.WARNING,
    check=check,
    doc=__doc__ or "",
)
