"""Residual blocks whose branches are neither normalized nor scaled: the stream grows geometrically.

## What it does
Walks the residual stream (the main path) and groups consecutive residual merges whose
branch holds no normalization; a normalization on the stream itself (post-LN) ends a group.
Each such merge adds an unnormalized branch to the stream, so by the variance-sum rule the
stream's second moment grows by 1 + sigma_branch^2 / sigma_stream^2 per block: a constant
factor, compounding geometrically. Fires when the predicted gradient-norm growth over a group,
sqrt(m(last merge) / m(first fork)) from the forward variance map, exceeds `max_gain`
(default 10). Branches with a normalization inside (pre-LN transformers, BN ResNets,
ConvNeXt, MobileNetV2) grow the stream only additively and are not counted; scaled branches
(LayerScale, SkipInit, Fixup, a zero-initialised last layer or gamma) predict growth near 1
and pass on the numbers.

## Why it matters
Without normalization, x + f(x) with a He-initialised two-layer ReLU branch triples the
variance per block: 32 blocks give a forward variance 3^32 ~ 2e15 times the input's and
first-layer gradients ~5e7 times the last block's. Training diverges at any usable learning
rate.

## Example
`deep_resnet_no_norm: blocks.0+add: GL104 [error] 32 residual blocks with unnormalized,
unscaled branches: predicted gradient-norm growth 4.5e+07 (above 10), x3.0 variance per block`.

## How to fix
Scale each branch: multiply its output by a learnable scalar initialised to 0 (SkipInit,
ReZero) or a per-channel LayerScale (1e-5 .. 1e-6), zero-initialise the last layer of every
branch and scale the others by L^(-1/(2m-2)) (Fixup), or add a normalization inside each
branch (pre-norm; zero-init its last gamma).

## References
- Zhang, Dauphin, Ma 2019, Fixup Initialization: Residual Learning Without Normalization.
- De & Smith 2020, Batch Normalization Biases Residual Blocks Towards the Identity (SkipInit).
- Touvron et al. 2021, Going deeper with Image Transformers (LayerScale).
- Goyal et al. 2017, Accurate, Large Minibatch SGD (zero-init last BN gamma).
"""
from __future__ import annotations

import math
from typing import Iterator

from gradlint.analysis.static import StaticFacts
from gradlint.analysis.static_paths import ResidualSum
from gradlint.findings import Category, Finding, Severity
from gradlint.model import LayerKind
from gradlint.registry import Rule, RuleContext
from gradlint.static_support import folded_norm_hint, number, static_of
from gradlint.verdict import confirms_gain, judged_finding, measured_ratio


def check(ctx: RuleContext) -> Iterator[Finding]:
    high = ctx.threshold(RULE.code, "max_gain", 10.0)
    facts = static_of(ctx)
    for group in unnormalized_groups(facts):
        gain = _group_gain(facts, group)
        if gain is not None and gain > high:
            yield _finding(ctx, group, gain, high)


def unnormalized_groups(facts: StaticFacts) -> list[list[ResidualSum]]:
    """Consecutive main-path merges with unnormalized branches, split at stream normalizations."""
    sums = {item.merge.merge: item for item in facts.residual_sums if item.on_main_path}
    groups: list[list[ResidualSum]] = [[]]
    for name in facts.main_path:
        layer = facts.layers[name]
        if layer.kind == LayerKind.NORM or layer.signal.normalized:
            groups.append([])
        item = sums.get(name)
        if item is not None and not item.normalized:
            groups[-1].append(item)
    return [group for group in groups if group]


def _group_gain(facts: StaticFacts, group: list[ResidualSum]) -> float | None:
    start = facts.layers[group[0].merge.fork].signal.output_second_moment
    end = facts.layers[group[-1].merge.merge].signal.output_second_moment
    if not start or end is None:
        return None
    return math.sqrt(end / start)


def _finding(ctx: RuleContext, group: list[ResidualSum], gain: float, high: float) -> Finding:
    growth = [item.growth for item in group if item.growth is not None]
    typical = sorted(growth)[len(growth) // 2] if growth else None
    first, last = group[0].merge, group[-1].merge
    message = (
        f"{len(group)} residual blocks with unnormalized, unscaled branches ({first.merge} .. "
        f"{last.merge}): predicted gradient-norm growth {number(gain)} (above {number(high)}), "
        f"x{number(typical)} variance per block"
    )
    measured = measured_ratio(ctx.facts.probe, first.fork, last.merge, ctx.model.graph)
    evidence = {
        "blocks": len(group),
        "predicted_gradient_ratio": gain,
        "threshold": high,
        "variance_growth_per_block": typical,
        "scaled_branches": sum(1 for item in group if item.scaled),
        "measured_gradient_ratio": measured,
    }
    branch_layers = [name for item in group for name in item.merge.branch]
    fix = (
        "scale every residual branch: a zero-initialised scalar (SkipInit/ReZero) or LayerScale "
        "(1e-5) on the branch output, Fixup (zero-init each branch's last layer), or a "
        f"normalization inside each branch{folded_norm_hint(ctx, branch_layers)}"
    )
    return judged_finding(RULE, ctx, first.merge, message, fix, evidence, confirms_gain(measured, None, high))


RULE = Rule(
    code="GL104",
    name="unscaled-residual-sum",
    category=Category.EXPLODING,
    severity=Severity.ERROR,
    check=check,
    doc=__doc__ or "",
)
