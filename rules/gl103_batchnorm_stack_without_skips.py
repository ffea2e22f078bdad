"""Many BatchNorm + ReLU layers on a path no skip bypasses: gradients explode by batch statistics.

## What it does
Counts the weight layers on the main path (the layers every input-to-output path runs
through) that are followed by batch normalization and a ReLU-family activation. Yang et al.
2019 show that at init each such layer multiplies the squared gradient norm by about
pi / (pi - 1) ~ 1.47 (more with small batches): a layer of L of them predicts a gradient-norm
ratio of (pi / (pi - 1))^(L/2) between the first and the last. Fires when it exceeds
`max_gain` (default 100, about 25 layers). Layers inside residual blocks are bypassed by the
skip and are not counted, so BN ResNets and MobileNetV2's inverted residuals stay quiet.

## Why it matters
Batch normalization makes the forward pass well-scaled at any depth, but the gradient through
the batch statistics grows geometrically: a 30-layer BN-ReLU MLP without skips has first-layer
gradients ~1e3 times the last layer's at batch size 8. The weights cannot fix this (BN makes
their scale irrelevant); only the architecture can.

## Example
`deep_bn_relu_no_skip: 0: GL103 [error] 29 BatchNorm+relu layers with no skip around them:
predicted gradient-norm ratio 259 (above 100) from (pi/(pi-1))^(29/2)`.

## How to fix
Add residual connections around blocks of 2-3 layers (ResNet), or use fewer layers per stage.
LayerNorm/GroupNorm do not have the batch-statistics explosion.

## References
- Yang, Pennington, Rao, Sohl-Dickstein, Schoenholz 2019, A Mean Field Theory of Batch
  Normalization (gradient explosion rate pi/(pi-1) for ReLU).
- He et al. 2016, Deep Residual Learning for Image Recognition.
"""
from __future__ import annotations

import math
from typing import Iterator

from gradlint.analysis.static_paths import BATCHNORM_RELU_GAIN
from gradlint.findings import Category, Finding, Severity
from gradlint.registry import Rule, RuleContext
from gradlint.static_support import number, static_of
from gradlint.verdict import confirms_gain, judged_finding, measured_ratio


def check(ctx: RuleContext) -> Iterator[Finding]:
    high = ctx.threshold(RULE.code, "max_gain", 100.0)
    layers = static_of(ctx).batchnorm_relu_layers
    gain = math.sqrt(BATCHNORM_RELU_GAIN) ** len(layers)
    if not layers or gain <= high:
        return
    first, last = layers[0], layers[-1]
    message = (
        f"{len(layers)} BatchNorm+ReLU layers with no skip around them ({first} .. {last}): "
        f"predicted gradient-norm ratio {number(gain)} (above {number(high)}) from "
        f"(pi/(pi-1))^({len(layers)}/2)"
    )
    measured = measured_ratio(ctx.facts.probe, first, last, ctx.model.graph)
    evidence = {
        "batchnorm_relu_layers": len(layers),
        "predicted_gradient_ratio": gain,
        "threshold": high,
        "gain_per_layer": math.sqrt(BATCHNORM_RELU_GAIN),
        "measured_gradient_ratio": measured,
    }
    fix = "add residual connections around every 2-3 BatchNorm+ReLU layers, or use fewer layers"
    yield judged_finding(RULE, ctx, first, message, fix, evidence, confirms_gain(measured, None, high))


RULE = Rule(
    code="GL103",
    name="batchnorm-stack-without-skips",
    category=Category.EXPLODING,
    severity=Severity.ERROR,
    check=check,
    doc=__doc__ or "",
)
