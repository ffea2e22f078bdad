"""Sigmoid as the hidden activation of a deep stack: gradients vanish whatever the init.

## What it does
Counts the hidden layers with a sigmoid-family activation (sigmoid, hard sigmoid) in each
plain stack (main-path weight layers with no normalization and no skip) and, when there are at
least `min_layers` (default 4), compounds their mean-field gains
E[sigmoid'(z)^2] * sigma_w^2 into the predicted gradient-norm ratio across the stack. Fires
when that ratio is below `min_gain` (default 0.01). tanh stacks are judged by GL201 instead:
with LeCun/orthogonal init tanh is critical, and a deep tanh stack trains.

## Why it matters
sigmoid'(z) <= 1/4 and its output is not centred (mean 1/2), so no init puts a sigmoid stack
at criticality: with Glorot init each layer multiplies the squared gradient by ~0.05, and a
20-layer sigmoid MLP passes 1e-12 of the gradient to its first layer. This is the vanishing
gradient problem that ReLU fixed.

## Example
`deep_sigmoid_mlp: 0: GL301 [error] 19 sigmoid hidden layers in one plain stack: predicted
gradient-norm ratio 1.6e-12 (below 0.01), E[sigmoid'^2] * sigma_w^2 = 0.055 per layer`.

## How to fix
Use ReLU/GELU/SiLU (with He init) or tanh (with LeCun/orthogonal init) for hidden layers;
keep sigmoid for gates and outputs. If the sigmoid must stay, put BatchNorm/LayerNorm before
each sigmoid (it rescales the backward pass) or add residual connections.

## References
- Glorot & Bengio 2010, Understanding the difficulty of training deep feedforward networks.
- Hochreiter 1991 / Bengio et al. 1994 on vanishing gradients.
- Schoenholz et al. 2017, Deep Information Propagation.
"""
from __future__ import annotations

from typing import Iterator

from gradlint.findings import Category, Finding, Severity
from gradlint.registry import Rule, RuleContext
from gradlint.static_support import SIGMOID_FAMILY, norm_gain, number, static_of
from gradlint.verdict import confirms_gain, judged_finding, measured_ratio


def _sigmoid(activation: str | None) -> bool:
    return activation in SIGMOID_FAMILY


def check(ctx: RuleContext) -> Iterator[Finding]:
    min_layers = ctx.threshold(RULE.code, "min_layers", 4)
    low = ctx.threshold(RULE.code, "min_gain", 0.01)
    for stack in static_of(ctx).plain_stacks:
        steps = [step for step in stack.steps if _sigmoid(step.activation)]
        gain = norm_gain(stack.gain(_sigmoid))
        if len(steps) < min_layers or gain is None or gain >= low:
            continue
        typical = sorted(step.factor for step in steps)[len(steps) // 2]
        message = (
            f"{len(steps)} sigmoid hidden layers in one plain stack ({stack.layers[0]} .. "
            f"{stack.layers[-1]}): predicted gradient-norm ratio {number(gain)} (below {number(low)}), "
            f"E[sigmoid'^2] * sigma_w^2 = {number(typical)} per layer"
        )
        measured = measured_ratio(ctx.facts.probe, stack.layers[0], stack.layers[-1], ctx.model.graph)
        evidence = {
            "sigmoid_layers": [step.layer for step in steps],
            "predicted_gradient_ratio": gain,
            "threshold": low,
            "gain_per_layer": typical,
            "measured_gradient_ratio": measured,
        }
        fix = (
            "use ReLU/GELU with He init (or tanh with orthogonal init) for the hidden layers; keep "
            "sigmoid for gates and outputs, or add a normalization before each sigmoid"
        )
        yield judged_finding(RULE, ctx, stack.layers[0], message, fix, evidence, confirms_gain(measured, low, None))


RULE = Rule(
    code="GL301",
    name="deep-sigmoid-stack",
    category=Category.ACTIVATION,
    severity=Severity.ERROR,
    check=check,
    doc=__doc__ or "",
)
