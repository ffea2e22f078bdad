"""An all-zero weight on the main path: no gradient reaches anything before it.

## What it does
Reports a linear, convolution or recurrent layer whose weights are all exactly zero when it
lies on the main path (no skip around it) and another weight layer follows it. Read off the
weights: an observation. Zero-initialised last layers of residual branches (Fixup, SkipInit,
zero-init residual) are off the main path and deliberate; a zero-initialised output layer
(the last weight layer) is a known trick and is exempt too.

## Why it matters
The gradient entering the layer's input is W^T delta = 0, exactly, for every input: every
layer before it gets no gradient. The layers after it see only the biases, a constant, so
with ReLU and zero biases (relu'(0) = 0) even the layer's own weights and those after it get
zero gradient: only biases can move, and the network may never recover.

## Example
`zero_weight_layer: 8: GL203 [error] all 16384 weights are zero on the main path: the 4
weight layers before it receive exactly zero gradient`.

## How to fix
Initialise the layer randomly (He/Kaiming or Glorot). If zero init is intended to make a
block start as the identity, put the zero layer at the end of a residual branch (Fixup,
zero-init residual), where the skip still carries the gradient.

## References
- Zhang, Dauphin, Ma 2019, Fixup Initialization (zero-init inside residual branches only).
- Goodfellow, Bengio, Courville 2016, Deep Learning, section 8.4.
"""
from __future__ import annotations

import math
from typing import Iterator

import networkx as nx

from gradlint.analysis.static import StaticFacts
from gradlint.findings import Category, Finding, Severity
from gradlint.model import Layer, LayerKind
from gradlint.registry import Rule, RuleContext
from gradlint.static_support import static_of
from gradlint.verdict import Basis, judged_finding

_BLOCKING_KINDS = (LayerKind.LINEAR, LayerKind.CONV, LayerKind.RECURRENT)


def check(ctx: RuleContext) -> Iterator[Finding]:
    facts = static_of(ctx)
    weight_path = [name for name in facts.main_path if facts.layers[name].width is not None]
    for layer in ctx.model.graph.layers():
        if not _all_zero(layer) or not _blocks(facts, layer.name, weight_path):
            continue
        before = _weight_layers_before(ctx, layer.name)
        message = (
            f"all {_count(layer)} weights are zero on the main path: the {before} weight layers "
            f"before it receive exactly zero gradient and the layers after it see only biases"
        )
        evidence = {"weights": _count(layer), "weight_layers_before": before, "abs_max": 0.0}
        fix = (
            "initialise this layer randomly (He/Kaiming or Glorot); zero-init belongs at the end "
            "of a residual branch, where the skip still carries the gradient"
        )
        yield judged_finding(RULE, ctx, layer.name, message, fix, evidence, basis=Basis.OBSERVED)


def _all_zero(layer: Layer) -> bool:
    stats = layer.weight
    return layer.kind in _BLOCKING_KINDS and stats is not None and stats.finite and stats.abs_max == 0.0


def _blocks(facts: StaticFacts, name: str, weight_path: list[str]) -> bool:
    """On the main path and followed by another main-path weight layer."""
    item = facts.layers.get(name)
    return item is not None and item.on_main_path and name in weight_path and name != weight_path[-1]


def _weight_layers_before(ctx: RuleContext, name: str) -> int:
    graph = ctx.model.graph
    ancestors = nx.ancestors(graph.graph, name)
    return sum(1 for layer in graph.weight_layers() if layer.name in ancestors)


def _count(layer: Layer) -> int:
    return math.prod(layer.weight.shape)


RULE = Rule(
    code="GL203",
    name="zero-weights-block-gradient",
    category=Category.VANISHING,
    severity=Severity.ERROR,
    check=check,
    doc=__doc__ or "",
)
