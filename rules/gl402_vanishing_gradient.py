"""The measured gradient shrinks by orders of magnitude going backward along the main path.

## What it does
Reads the same comparable backward profile as GL401 (main path or residual stream, pooling and
normalization rescaling divided out) and finds the largest shrinkage between a layer and any
layer after it. It fires when the gradient at the upstream layer is below `min_ratio` (default
1e-3) of the downstream one.

## Why it matters
Layers that receive a thousandth of the gradient of the layers above them barely move under
SGD: 20 sigmoid layers (sigmoid' <= 1/4) leave the first layer 1e-12 of the last one's
gradient, and half-He ReLU init 2e-6. Adaptive optimizers rescale per parameter and can hide
it for a while, but the first layers then learn from noise-dominated gradients. Healthy
networks measured here stay within 0.02 (short sigmoid nets, 20-layer Glorot tanh: 0.2).

## Example
`deep_sigmoid_mlp: 0: GL402 [error] gradient shrinks to 1.3e-12 going back from 38 to 0 along
the main path (threshold 0.001)`.

## How to fix
Replace sigmoid/tanh in deep hidden stacks with ReLU/GELU, initialise for the activation (He
for ReLU), add normalization and skip connections.

## References
- Hochreiter 1991; Bengio, Simard & Frasconi 1994, Learning long-term dependencies with
  gradient descent is difficult.
- Glorot & Bengio 2010, Understanding the difficulty of training deep feedforward networks.
- Schoenholz et al. 2017, Deep Information Propagation.
"""
from __future__ import annotations

from typing import Iterator

from gradlint.findings import Category, Finding, Severity
from gradlint.measured_support import main_path_segments, widest_change
from gradlint.registry import Rule, RuleContext
from gradlint.static_support import number
from gradlint.verdict import Basis, judged_finding

FIX = (
    "use ReLU/GELU instead of sigmoid/tanh in deep hidden stacks, initialise for the activation "
    "(He: std = sqrt(2 / fan_in) for ReLU), add normalization and skip connections"
)


def check(ctx: RuleContext) -> Iterator[Finding]:
    threshold = ctx.threshold(RULE.code, "min_ratio", 1e-3)
    found = widest_change(main_path_segments(ctx), growing=False)
    if found is None or found[0] >= threshold:
        return
    ratio, upstream, downstream = found
    message = (
        f"gradient shrinks to {number(ratio)} going back from {downstream.layer} to "
        f"{upstream.layer} along the main path (threshold {number(threshold)})"
    )
    evidence = {
        "measured_ratio": ratio,
        "threshold": threshold,
        "from_layer": downstream.layer,
        "to_layer": upstream.layer,
        "measure": "total gradient norm, pooling and normalization rescaling divided out",
    }
    yield judged_finding(RULE, ctx, upstream.layer, message, FIX, evidence, basis=Basis.MEASURED)


RULE = Rule(
    code="GL402",
    name="vanishing-gradient",
    category=Category.VANISHING,
    severity=Severity.ERROR,
    check=check,
    doc=__doc__ or "",
)
