"""Recurrent weights whose spectral radius is far from 1: gradients explode or vanish through time.

## What it does
For every recurrent layer (RNN, LSTM, GRU) computes the spectral radius (largest |eigenvalue|)
of each gate's hidden-to-hidden block of the recurrent matrix, and fires when the largest is
above `max_radius` (default 2) or below `min_radius` (default 0.25). PyTorch's default
recurrent init gives about 1/sqrt(3) ~ 0.58; an orthogonal recurrent matrix gives exactly 1.

## Why it matters
Backpropagation through time multiplies the gradient by the recurrent Jacobian once per time
step, roughly diag(phi') W_hh. A radius well above 1 amplifies it geometrically over the
sequence (a tanh RNN at radius 3 has gradients 1e3 times larger at the first step than at the
last over 20 steps) and saturates the gates; a radius near 0 forgets every input within a few
steps (radius 0.1: 1e-20 over 20 steps).

## Example
`rnn_large_recurrent: rnn: GL204 [warning] recurrent spectral radius 3 (above 2): gradients
grow geometrically through time`.

## How to fix
Initialise the recurrent matrix orthogonally (`nn.init.orthogonal_` on each gate block of
`weight_hh`), or with the framework default; for LSTMs set the forget-gate bias to 1 for long
memory. Clip gradients for long sequences.

## References
- Pascanu, Mikolov, Bengio 2013, On the difficulty of training recurrent neural networks.
- Saxe, McClelland, Ganguli 2014 (orthogonal init); Le, Jaitly, Hinton 2015 (IRNN).
"""
from __future__ import annotations

from typing import Iterator

from gradlint.analysis.static_weights import recurrent_radii
from gradlint.findings import Category, Finding, Severity
from gradlint.model import LayerKind
from gradlint.registry import Rule, RuleContext
from gradlint.static_support import number
from gradlint.verdict import judged_finding


def check(ctx: RuleContext) -> Iterator[Finding]:
    low = ctx.threshold(RULE.code, "min_radius", 0.25)
    high = ctx.threshold(RULE.code, "max_radius", 2.0)
    for layer in ctx.model.graph.layers():
        if layer.kind != LayerKind.RECURRENT:
            continue
        radii = recurrent_radii(ctx.model, layer)
        if not radii or low <= max(radii) <= high:
            continue
        radius = max(radii)
        exploding = radius > high
        effect = (
            "gradients grow geometrically through time" if exploding
            else "gradients vanish within a few time steps"
        )
        message = (
            f"recurrent spectral radius {number(radius)} ({'above' if exploding else 'below'} "
            f"{number(high if exploding else low)}): {effect}"
        )
        evidence = {"spectral_radius": radius, "gate_radii": list(radii), "threshold": high if exploding else low}
        fix = "initialise each gate block of the recurrent matrix orthogonally (nn.init.orthogonal_, gain 1)"
        yield judged_finding(RULE, ctx, layer.name, message, fix, evidence)


RULE = Rule(
    code="GL204",
    name="recurrent-spectral-radius",
    category=Category.INIT_SCALE,
    severity=Severity.WARNING,
    check=check,
    doc=__doc__ or "",
)
