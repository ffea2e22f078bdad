"""A negative bias before a ReLU large enough that almost every unit starts dead.

## What it does
For each weight layer followed by a ReLU-family activation (and no normalization, which would
remove the bias) compares the bias mean b with the spread of the weight part of the
pre-activation, sqrt(q) with q = sigma_w^2 * E[input^2] from the forward variance map. With
z ~ N(b, q) the predicted fraction of active units is P(z > 0) = Phi(b / sqrt(q)); the rule
fires when it is below `min_active` (default 0.05).

## Why it matters
A ReLU unit whose pre-activation is negative for every input outputs 0 and passes no gradient
to its weights: it never recovers. A bias of -3 against a pre-activation spread of 1.4 leaves
1.7% of the units alive in the first layer, and the next layers, fed almost nothing, die
completely.

## Example
`relu_negative_bias_mlp: 0: GL302 [error] bias mean -3 against pre-activation std 1.41:
predicted 1.7% of relu units active (below 5%)`.

## How to fix
Initialise biases to zero (or a small positive constant such as 0.01 for ReLU), or put a
BatchNorm/LayerNorm between the weight and the ReLU; use LeakyReLU/GELU if units must not die.

## References
- Lu et al. 2019, Dying ReLU and Initialization: Theory and Numerical Examples.
- He et al. 2015, Delving Deep into Rectifiers.
"""
from __future__ import annotations

import math
from typing import Iterator

from gradlint.analysis.static import LayerStatic, StaticFacts
from gradlint.analysis.static_variance import RELU_FAMILY
from gradlint.findings import Category, Finding, Severity
from gradlint.registry import Rule, RuleContext
from gradlint.static_support import number, static_of
from gradlint.verdict import judged_finding


def check(ctx: RuleContext) -> Iterator[Finding]:
    min_active = ctx.threshold(RULE.code, "min_active", 0.05)
    facts = static_of(ctx)
    flagged = [
        name
        for name, layer in facts.layers.items()
        if _candidate(layer) and layer.signal.active_fraction is not None
        and layer.signal.active_fraction < min_active
    ]
    for group in _by_stack(facts, flagged):
        yield _finding(ctx, group, min_active)


def _by_stack(facts: StaticFacts, flagged: list[str]) -> list[list[str]]:
    """Flagged layers of one plain stack form one finding (each layer still names its own bias)."""
    stack_of = {name: index for index, stack in enumerate(facts.plain_stacks) for name in stack.layers}
    groups: dict[object, list[str]] = {}
    for name in flagged:
        groups.setdefault(stack_of.get(name, name), []).append(name)
    return list(groups.values())


def _finding(ctx: RuleContext, group: list[str], min_active: float) -> Finding:
    name = group[0]
    signal = static_of(ctx).layers[name].signal
    spread = math.sqrt(signal.pre_activation_variance or 0.0)
    more = f"; {len(group) - 1} more layers after it likewise ({group[1]} .. {group[-1]})" if len(group) > 1 else ""
    message = (
        f"bias mean {number(signal.pre_activation_mean)} against pre-activation std "
        f"{number(spread)}: predicted {signal.active_fraction:.1%} of {signal.activation} units "
        f"active (below {min_active:.0%}){more}"
    )
    measured = _measured_dead(ctx, name)
    evidence = {
        "bias_mean": signal.pre_activation_mean,
        "pre_activation_std": spread,
        "predicted_active_fraction": signal.active_fraction,
        "threshold": min_active,
        "layers": group,
        "measured_dead_fraction": measured,
    }
    fix = "initialise the biases to 0 (or a small positive value), or normalize before the activation"
    confirmed = None if measured is None else measured >= 0.5
    return judged_finding(RULE, ctx, name, message, fix, evidence, confirmed)


def _candidate(layer: LayerStatic) -> bool:
    signal = layer.signal
    return (
        signal.sigma_w2 is not None
        and not signal.normalized
        and signal.activation in RELU_FAMILY
        and signal.pre_activation_mean < 0
    )


def _measured_dead(ctx: RuleContext, name: str) -> float | None:
    """The probe's dead fraction at the layer or at the activation folded into it."""
    probe = ctx.facts.probe
    if probe is None:
        return None
    facts = static_of(ctx)
    candidates = [name] + [n for n, item in facts.layers.items() if item.signal.absorbed_into == name]
    measured = [p.dead_fraction for p in map(probe.layer, candidates) if p is not None and p.dead_fraction is not None]
    return max(measured) if measured else None


RULE = Rule(
    code="GL302",
    name="negative-bias-dead-relu",
    category=Category.DEAD_UNITS,
    severity=Severity.ERROR,
    check=check,
    doc=__doc__ or "",
)
