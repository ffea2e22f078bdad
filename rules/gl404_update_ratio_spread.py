"""||grad|| / ||weight|| spans more across weight layers than one learning rate can serve.

## What it does
For the main weight of every linear and convolution layer the probe measured, takes the ratio
||grad W|| / ||W|| (the relative size of a first SGD step) and compares its 95th and 5th
percentiles over the model; fires when they are more than `max_spread` (default 1e4) apart.
Left out: embeddings (a batch touches few rows), and weights inside a residual branch that a
learned scale starts near zero (LayerScale, SkipInit, zero-init gamma): their gradients are
small by design until the scale grows, which it does first.

## Why it matters
With one SGD learning rate, a 1e4 spread means the fastest layers move 1e4 times more per
step, relative to their size, than the slowest: either the first diverge or the last never
move. Adaptive optimizers (Adam) rescale per parameter and tolerate it, so this is a warning.
Healthy models measured here stay below 600 (MobileNetV2), deep sigmoid nets reach 6e10.

## Example
`deep_sigmoid_mlp: 0: GL404 [warning] ||grad||/||weight|| spans 6.2e+10 between the 5th and
95th percentile of 20 weight layers (threshold 1e+04)`.

## How to fix
Fix the gradient flow first (GL401/GL402); otherwise use an adaptive optimizer (Adam) or
per-layer learning rates (LARS/LAMB), or normalization that equalises layer scales.

## References
- You, Gitman & Ginsburg 2017, Large Batch Training of Convolutional Networks (LARS).
- Bernstein et al. 2020, On the distance between two neural networks and the stability of
  learning (relative updates).
"""
from __future__ import annotations

from typing import Iterator

from gradlint.findings import Category, Finding, Severity
from gradlint.measured_support import weight_parameters
from gradlint.registry import Rule, RuleContext
from gradlint.static_support import number, static_of
from gradlint.verdict import Basis, judged_finding

_MIN_LAYERS = 5
_SUPPRESSED = 0.01


def check(ctx: RuleContext) -> Iterator[Finding]:
    threshold = ctx.threshold(RULE.code, "max_spread", 1e4)
    scaled = _learned_scale_branches(ctx)
    ratios = sorted(
        (parameter.ratio, layer)
        for layer, parameter in weight_parameters(ctx)
        if layer not in scaled and parameter.ratio is not None and parameter.ratio > 0
    )
    if len(ratios) < _MIN_LAYERS:
        return
    low, high = _percentile(ratios, 0.05), _percentile(ratios, 0.95)
    spread = high[0] / low[0]
    if spread <= threshold:
        return
    message = (
        f"||grad||/||weight|| spans {number(spread)} between the 5th and 95th percentile of "
        f"{len(ratios)} weight layers (threshold {number(threshold)}): {low[1]} {number(low[0])}, "
        f"{high[1]} {number(high[0])}"
    )
    evidence = {"spread": spread, "threshold": threshold, "low": low, "high": high, "layers": len(ratios)}
    fix = "fix the gradient flow (GL401/GL402), or train with Adam / per-layer learning rates (LARS, LAMB)"
    yield judged_finding(RULE, ctx, low[1], message, fix, evidence, basis=Basis.MEASURED)


def _percentile(ordered: list[tuple[float, str]], q: float) -> tuple[float, str]:
    """Nearest-rank percentile (a real layer, so the message can name it)."""
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def _learned_scale_branches(ctx: RuleContext) -> set[str]:
    """Layers of residual branches whose output gradient the probe measured far (100x) below
    the residual stream's after the merge: a learned scale after the branch (LayerScale,
    SkipInit, zero gamma) holds it near zero on purpose, statically visible or not."""
    facts, probe = static_of(ctx), ctx.facts.probe
    if probe is None:
        return set()
    path = facts.main_path
    found: set[str] = set()
    for residual in facts.residual_sums:
        merge = residual.merge
        after = path[path.index(merge.merge) + 1 :] if merge.merge in path else ()
        stream = next((p.grad_profile for p in map(probe.layer, after) if p is not None and p.grad_profile), None)
        tails = [p.grad_profile for p in map(probe.layer, merge.branch[::-1]) if p is not None and p.grad_profile is not None]
        if residual.scaled or (stream and tails and tails[0] < _SUPPRESSED * stream):
            found.update(merge.branch)
    return found


RULE = Rule(
    code="GL404",
    name="update-ratio-spread",
    category=Category.INIT_SCALE,
    severity=Severity.WARNING,
    check=check,
    doc=__doc__ or "",
)
