"""A deep stack of weight layers with neither skip connections nor normalization.

## What it does
Finds plain stacks (consecutive main-path weight layers with no normalization after their
weights and no skip around them) longer than `max_depth` weight layers (default 30). A stack
whose hidden activation is tanh or linear with orthogonal weights is exempt: it can reach
dynamical isometry and trains at any depth.

## Why it matters
Even at a critical init, a deep plain stack depends on every layer staying exactly critical:
any deviation compounds over depth, finite-width fluctuations grow with depth/width, and for
ReLU the representations of different inputs converge (correlation map to 1), so a 56-layer
plain network trains worse than a 20-layer one (the degradation problem). ReLU stacks cannot
reach dynamical isometry even with orthogonal weights.

## Example
`deep_plain_relu_mlp: 0: GL101 [warning] 40 weight layers in a plain stack (0 .. 78) with no
skip and no normalization (more than 30)`.

## How to fix
Add residual connections (every 2-3 layers) and normalization (BatchNorm for convnets,
LayerNorm for MLPs and transformers), or, for tanh networks, orthogonal init at criticality.

## References
- He et al. 2016, Deep Residual Learning for Image Recognition (degradation problem).
- Schoenholz et al. 2017, Deep Information Propagation (depth scales).
- Pennington, Schoenholz, Ganguli 2017, Resurrecting the sigmoid in deep learning through
  dynamical isometry; Xiao et al. 2018, 10,000-layer vanilla CNNs.
"""
from __future__ import annotations

from typing import Iterator

from gradlint.analysis.static_paths import PlainStack
from gradlint.analysis.static_weights import is_orthogonal
from gradlint.findings import Category, Finding, Severity
from gradlint.registry import Rule, RuleContext
from gradlint.static_support import static_of
from gradlint.verdict import judged_finding

_ISOMETRIC_ACTIVATIONS = frozenset({"tanh", "identity"})


def check(ctx: RuleContext) -> Iterator[Finding]:
    max_depth = ctx.threshold(RULE.code, "max_depth", 30)
    for stack in static_of(ctx).plain_stacks:
        if len(stack.layers) <= max_depth or _isometric(ctx, stack):
            continue
        activations = sorted({str(step.activation) for step in stack.steps})
        message = (
            f"{len(stack.layers)} weight layers in a plain stack ({stack.layers[0]} .. "
            f"{stack.layers[-1]}) with no skip and no normalization (more than {max_depth:g})"
        )
        evidence = {"layers": len(stack.layers), "threshold": max_depth, "activations": activations}
        fix = "add residual connections every 2-3 layers and a normalization after each weight"
        yield judged_finding(RULE, ctx, stack.layers[0], message, fix, evidence)


def _isometric(ctx: RuleContext, stack: PlainStack) -> bool:
    """tanh/linear hidden layers with orthogonal weights: dynamical isometry is reachable."""
    if any(step.activation not in _ISOMETRIC_ACTIVATIONS for step in stack.steps):
        return False
    graph = ctx.model.graph
    return all(is_orthogonal(ctx.model, graph.layer(name)) for name in stack.layers[1:-1])


RULE = Rule(
    code="GL101",
    name="deep-plain-stack",
    category=Category.DEPTH,
    severity=Severity.WARNING,
    check=check,
    doc=__doc__ or "",
)
