"""The measured gradient grows by orders of magnitude going backward along the main path.

## What it does
Reads the probe's backward depth profile (total gradient norm at each layer output, pooling's
fixed shrinkage divided out) along the main path -- the residual stream where there is one --
divides out the rescaling every normalization layer does by construction (std_out / std_in,
both measured), and finds the largest growth between a layer and any layer after it. It fires
when that growth exceeds `max_growth` (default 1000).

## Why it matters
The total gradient norm across a layer changes by its mean-field gain chi, whatever the widths,
so a thousandfold growth between comparable points means the first layers get updates a
thousand times larger, relative to the signal, than the last ones: no learning rate serves
both, and SGD diverges (2x He init over 20 ReLU layers: 5e5; 32 unscaled residual blocks: 7e7;
29 BN-ReLU layers without skips: 2e3). Raw ratios of tensors of different sizes are not gains:
ConvNeXt's LayerScale and MobileNetV2's small-std convolutions before BatchNorm make raw
ratios of 1e8 and 1e3 in networks that train fine.

## Example
`relu_large_init_mlp: 0: GL401 [error] gradient grows 6.5e+05x going back from 38 to 0 along
the main path (threshold 1000)`.

## How to fix
Initialise for the activation (He for ReLU, LeCun/Glorot for tanh), scale residual branches
(zero-init the last norm's gamma, LayerScale, Fixup) or add normalization with skips; clip
gradients as a stopgap.

## References
- Glorot & Bengio 2010, Understanding the difficulty of training deep feedforward networks.
- Pennington, Schoenholz & Ganguli 2017, Resurrecting the sigmoid (mean-field chi).
- Yang et al. 2019, A Mean Field Theory of Batch Normalization.
- Zhang, Dauphin & Ma 2019, Fixup Initialization.
"""
from __future__ import annotations

from typing import Iterator

from gradlint.findings import Category, Finding, Severity
from gradlint.measured_support import main_path_segments, widest_change
from gradlint.registry import Rule, RuleContext
from gradlint.static_support import number
from gradlint.verdict import Basis, judged_finding

FIX = (
    "initialise each weight layer for its activation (He: std = sqrt(2 / fan_in) for ReLU), "
    "scale residual branches (zero-init the last norm's gamma, LayerScale 1e-6, Fixup), or "
    "add normalization with skip connections"
)


def check(ctx: RuleContext) -> Iterator[Finding]:
    threshold = ctx.threshold(RULE.code, "max_growth", 1000.0)
    found = widest_change(main_path_segments(ctx), growing=True)
    if found is None or found[0] <= threshold:
        return
    ratio, upstream, downstream = found
    message = (
        f"gradient grows {number(ratio)}x going back from {downstream.layer} to {upstream.layer} "
        f"along the main path (threshold {number(threshold)})"
    )
    evidence = {
        "measured_growth": ratio,
        "threshold": threshold,
        "from_layer": downstream.layer,
        "to_layer": upstream.layer,
        "measure": "total gradient norm, pooling and normalization rescaling divided out",
    }
    yield judged_finding(RULE, ctx, upstream.layer, message, FIX, evidence, basis=Basis.MEASURED)


RULE = Rule(
    code="GL401",
    name="exploding-gradient",
    category=Category.EXPLODING,
    severity=Severity.ERROR,
    check=check,
    doc=__doc__ or "",
)
