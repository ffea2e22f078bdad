"""One layer whose local Jacobian sigma_max stands far above the rest of the model's.

## What it does
Reads the probe's local sigma_max (largest singular value of the layer's input-output Jacobian,
by Lanczos, or exactly for diagonal and constant Jacobians) of every weight and elementwise
layer and fires where it is above `min_sigma` (default 10) and above `ratio` (default 10) times
the median over the model's weight layers. Normalization layers are left out: their Jacobian
is gamma / std(input) by construction (LayerNorm after a small-std embedding reads 30-190 in
healthy BERT, GPT-2, ConvNeXt), which rescales and does not amplify. Attention layers are
left out too: softmax(QKᵀ)V is bilinear in activations, so its Jacobian scales with the
values and scores it is fed, not with any initialisation (in GPT-2 small's ONNX export the
probabilities-times-values layers read 13-18 against a weight-layer median of 0.39). Recurrent
layers are GL204's (their sigma spans the whole unrolled sequence).

## Why it matters
A random Gaussian layer initialised for its activation has sigma_max near
std * (sqrt(fan_in) + sqrt(fan_out)) ~ 3 (He: 2.8). A layer far above its peers amplifies some
input directions by that factor at every step: a single badly scaled weight (a copy-paste
init, a missing 1/sqrt(d) scale) and the place a later explosion starts.

## Example
`hotspot_mlp: 4: GL403 [warning] local Jacobian sigma_max 283 is 100x the model's median 2.8
(threshold 10x and 10)`.

## How to fix
Re-initialise the named layer like its peers (He/Glorot for its activation), add the missing
scale (1/sqrt(d_head) in attention), or normalise its output.

## References
- Pennington, Schoenholz & Ganguli 2017, Resurrecting the sigmoid: dynamical isometry.
- Saxe, McClelland & Ganguli 2014, Exact solutions to the nonlinear dynamics of learning in
  deep linear neural networks.
"""
from __future__ import annotations

import statistics
from typing import Iterator

from gradlint.findings import Category, Finding, Severity
from gradlint.measured_support import WEIGHT_KINDS
from gradlint.model import LayerKind
from gradlint.registry import Rule, RuleContext
from gradlint.static_support import number
from gradlint.verdict import Basis, judged_finding

_SKIPPED = frozenset({
    LayerKind.NORM, LayerKind.RECURRENT, LayerKind.ATTENTION, LayerKind.INPUT, LayerKind.OUTPUT,
})


def check(ctx: RuleContext) -> Iterator[Finding]:
    probe, graph = ctx.facts.probe, ctx.model.graph
    if probe is None:
        return
    floor = ctx.threshold(RULE.code, "min_sigma", 10.0)
    factor = ctx.threshold(RULE.code, "ratio", 10.0)
    sigmas = {
        p.node: p.sigma_max for p in probe.layers
        if p.sigma_max is not None and p.node in graph and _judged(graph, p.node)
    }
    peers = [s for n, s in sigmas.items() if graph.layer(n).kind in WEIGHT_KINDS]
    if not peers:
        return
    median = statistics.median(peers)
    for node, sigma in sigmas.items():
        if sigma > floor and sigma > factor * median:
            message = (
                f"local Jacobian sigma_max {number(sigma)} is {number(sigma / median)}x the model's "
                f"median {number(median)} (threshold {number(factor)}x and {number(floor)})"
            )
            evidence = {"sigma_max": sigma, "median_sigma": median, "threshold_ratio": factor, "threshold": floor}
            fix = "re-initialise this layer like its peers (He/Glorot for its activation), add a missing 1/sqrt(d) scale, or normalise its output"
            yield judged_finding(RULE, ctx, node, message, fix, evidence, basis=Basis.MEASURED)


def _judged(graph, name: str) -> bool:
    layer = graph.layer(name)
    return layer.kind not in _SKIPPED and layer.normalization is None


RULE = Rule(
    code="GL403",
    name="jacobian-hotspot",
    category=Category.EXPLODING,
    severity=Severity.WARNING,
    check=check,
    doc=__doc__ or "",
)
