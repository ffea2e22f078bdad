"""A plain stack whose weight scale puts it off criticality: gradients compound away from 1.

## What it does
For every plain stack (consecutive weight layers on the main path with no normalization after
the weights and no skip around them) computes the mean-field gain of each layer,
chi = sigma_w^2 * E[phi'(z)^2] with sigma_w^2 = std(W)^2 * fan_in and z the layer's predicted
pre-activation, and compounds it along the stack into the predicted ratio of gradient norms at
the stack's first and last layers. Fires when that ratio is above `max_gain` (default 10:
exploding) or below `min_gain` (default 0.01: vanishing). Only the weight scale is judged:
biases are left out (GL302 judges them) and sigmoid layers are left to GL301, since no init
makes a sigmoid stack critical.

## Why it matters
A layer with chi != 1 multiplies the squared gradient norm by chi on its way down; over L
layers that is chi^L. He init makes ReLU layers critical (sigma_w^2 = 2, chi = 1); twice He
gives chi = 4 and a 20-layer stack a 5e5x larger gradient at the bottom than at the top, half
He gives 2e-6. tanh with sigma_w = 2.5 is in the chaotic phase (chi ~ 1.6 per layer).

## Example
`relu_small_init_mlp: 0: GL201 [error] predicted gradient-norm ratio 1.96e-06 across 20
layers (0 .. 38), below 0.01: chi = 0.25 per relu layer (sigma_w^2 = 0.5, He gives 2)`.

## How to fix
Initialise each layer for its activation: He/Kaiming (`kaiming_normal_`, std = sqrt(2/fan_in))
for the ReLU family, LeCun/Glorot or orthogonal (gain 1) for tanh, SELU and linear layers.
Or add normalization (BatchNorm/LayerNorm after the weight), which makes the weight scale
irrelevant to the forward and backward pass.

## References
- Poole et al. 2016, Exponential expressivity in deep neural networks through transient chaos.
- Schoenholz et al. 2017, Deep Information Propagation (chi, depth scales).
- He et al. 2015, Delving Deep into Rectifiers (He init); Glorot & Bengio 2010.
"""
from __future__ import annotations

import math
from typing import Iterator

from gradlint.analysis.static_paths import PlainStack
from gradlint.findings import Category, Finding, Severity
from gradlint.registry import Rule, RuleContext
from gradlint.static_support import SIGMOID_FAMILY, folded_norm_hint, init_advice, norm_gain, number, static_of
from gradlint.verdict import confirms_gain, judged_finding, measured_ratio


def _judged(activation: str | None) -> bool:
    return activation is not None and activation not in SIGMOID_FAMILY


def check(ctx: RuleContext) -> Iterator[Finding]:
    high = ctx.threshold(RULE.code, "max_gain", 10.0)
    low = ctx.threshold(RULE.code, "min_gain", 0.01)
    for stack in static_of(ctx).plain_stacks:
        gain = norm_gain(stack.gain(_judged, centered=True))
        # a NaN prediction comes from non-finite weights, which GL501 reports
        if gain is None or not math.isfinite(gain) or not stack.steps or low <= gain <= high:
            continue
        yield _finding(ctx, stack, gain, low, high)


def _finding(ctx: RuleContext, stack: PlainStack, gain: float, low: float, high: float) -> Finding:
    worst = max(
        (step for step in stack.steps if _judged(step.activation) and step.scale_factor),
        key=lambda step: abs(math.log(step.scale_factor)),
        default=stack.steps[0],
    )
    signal = static_of(ctx).layers[worst.layer].signal
    advice, critical = init_advice(worst.activation)
    direction = "above" if gain > high else "below"
    per_layer = worst.scale_factor
    sigma = _next_sigma(ctx, stack, worst.layer)
    message = (
        f"predicted gradient-norm ratio {number(gain)} across {len(stack.layers)} layers "
        f"({stack.layers[0]} .. {stack.layers[-1]}), {direction} {number(high if gain > high else low)}: "
        f"chi = {number(per_layer)} per {worst.activation} layer at {worst.layer} "
        f"(sigma_w^2 = {number(sigma)}{_default_init_note(sigma)}, critical is about {number(critical)})"
    )
    measured = measured_ratio(ctx.facts.probe, stack.layers[0], stack.layers[-1], ctx.model.graph)
    evidence = {
        "predicted_gradient_ratio": gain,
        "threshold": high if gain > high else low,
        "layers": len(stack.layers),
        "chi_per_layer": {step.layer: step.scale_factor for step in stack.steps},
        "pre_activation_variance": signal.pre_activation_variance,
        "measured_gradient_ratio": measured,
    }
    confirmed = confirms_gain(measured, None if gain > high else low, high if gain > high else None)
    fix = (
        f"initialise the {worst.activation} layers with {advice}, or add a normalization after "
        f"each weight{folded_norm_hint(ctx, stack.layers)}"
    )
    return judged_finding(RULE, ctx, stack.layers[0], message, fix, evidence, confirmed)


def _default_init_note(sigma_w2: float | None) -> str:
    """PyTorch's default Linear/Conv init (kaiming_uniform_, a=sqrt(5)) has variance 1/(3 fan_in)."""
    if sigma_w2 is not None and abs(sigma_w2 * 3.0 - 1.0) < 0.1:
        return ": PyTorch's default init"
    return ""


def _next_sigma(ctx: RuleContext, stack: PlainStack, layer: str) -> float | None:
    following = stack.layers[stack.layers.index(layer) + 1]
    return static_of(ctx).layers[following].signal.sigma_w2


RULE = Rule(
    code="GL201",
    name="off-critical-init",
    category=Category.INIT_SCALE,
    severity=Severity.ERROR,
    check=check,
    doc=__doc__ or "",
)
