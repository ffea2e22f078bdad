"""Static facts: what the layer graph and the weights predict about gradient flow, no run needed.

`static_facts(model)` combines the graph's shape (main path, residual merges: static_graph),
the mean-field forward variance map and per-layer gain chi (static_variance, mean_field) and
the segments where gains compound (static_paths). It always runs, also with --no-probe; the
GL1xx/GL2xx/GL3xx static rules read nothing else (plus weight tensors through
static_weights for the few facts WeightStats cannot carry).

Gains here are *squared* gradient-norm ratios (chi is one); rules report their square roots,
the gradient-norm ratios a probe measures.

With a normalization right after a weight, the weight's scale drops out of both passes: the
norm fixes the pre-activation variance to gamma^2, and its backward divides by the same
standard deviation the weight multiplied by. Such layers have no chi of their own; the gain a
BN-ReLU layer contributes is Yang et al.'s batch-statistics factor (static_paths).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping

from gradlint.analysis.static_graph import GraphShape
from gradlint.analysis.static_paths import (
    BATCHNORM_RELU_GAIN,
    PlainStack,
    ResidualSum,
    batchnorm_relu_layers,
    hanin_layers,
    plain_stacks,
    residual_sums,
    unit_count,
)
from gradlint.analysis.static_variance import LayerSignal, absorbed_nodes, propagate
from gradlint.model import Diagnostic, LayerKind, LoadedModel


@dataclass(frozen=True)
class LayerStatic:
    """The static expectation at one layer."""

    name: str
    kind: LayerKind
    signal: LayerSignal
    normalization: str | None
    on_main_path: bool  # every input-to-output path runs through it (no skip around it)
    in_residual_branch: bool
    width: int | None  # output units of a weight layer
    cumulative_gain: float | None  # predicted squared gradient norm here / at the output end

    @property
    def activation(self) -> str | None:
        return self.signal.activation

    @property
    def chi(self) -> float | None:
        return self.signal.chi


@dataclass(frozen=True)
class StaticFacts:
    layers: Mapping[str, LayerStatic] = field(hash=False, compare=False)
    main_path: tuple[str, ...]
    main_path_depth: int  # weight layers on the longest input-to-output path
    skip_merges: int  # residual merges
    normalization_layers: int
    plain_stacks: tuple[PlainStack, ...]
    batchnorm_relu_layers: tuple[str, ...]  # main-path BN + ReLU-family layers
    residual_sums: tuple[ResidualSum, ...]
    hanin_widths: tuple[tuple[str, int], ...]  # (layer, width) in Hanin's sum
    predicted_gain: float | None  # squared gradient-norm gain, main path end to end

    @property
    def hanin_beta(self) -> float:
        """Hanin's beta: the sum of 1/width over the hidden ReLU layers of plain stacks."""
        return sum(1.0 / width for _, width in self.hanin_widths)

    @property
    def unscaled_residual_merges(self) -> int:
        return sum(1 for item in self.residual_sums if not item.normalized and not item.scaled)

    def layer(self, name: str) -> LayerStatic | None:
        return self.layers.get(name)


def static_facts(model: LoadedModel) -> StaticFacts:
    shape = GraphShape(model.graph)
    signals = propagate(model, shape)
    stacks = plain_stacks(shape, signals)
    sums = residual_sums(shape, signals)
    bn_relu = batchnorm_relu_layers(shape, signals)
    profile = _gain_profile(shape, signals, stacks, sums, bn_relu)
    branch_members = {name for item in sums for name in item.merge.branch}
    layers = {
        name: LayerStatic(
            name=name,
            kind=shape.layer(name).kind,
            signal=signals[name],
            normalization=shape.layer(name).normalization,
            on_main_path=name in shape.main_path_set,
            in_residual_branch=name in branch_members,
            width=unit_count(shape, name) if shape.is_weight(name) else None,
            cumulative_gain=profile.get(name),
        )
        for name in shape.order
    }
    return StaticFacts(
        layers=layers,
        main_path=shape.main_path,
        main_path_depth=shape.longest_weight_path,
        skip_merges=len(sums),
        normalization_layers=_normalization_count(shape),
        plain_stacks=stacks,
        batchnorm_relu_layers=bn_relu,
        residual_sums=sums,
        hanin_widths=hanin_layers(shape, stacks, signals),
        predicted_gain=_first_value(profile, shape.main_path),
    )


def empty_static_facts() -> StaticFacts:
    """Facts that predict nothing: for a model the static analysis could not read."""
    return StaticFacts({}, (), 0, 0, 0, (), (), (), (), None)


def static_facts_or_diagnostic(model: LoadedModel) -> tuple[StaticFacts | None, list[Diagnostic]]:
    """static_facts, or a Diagnostic saying why the static analysis could not run."""
    try:
        return static_facts(model), []
    except Exception as error:  # a graph the analysis does not understand: a note, not a crash
        cause = " ".join(str(error).split()) or type(error).__name__
        note = Diagnostic(kind="static-failed", message=f"static analysis failed: {type(error).__name__}: {cause}"[:500])
        return None, [note]


def _normalization_count(shape: GraphShape) -> int:
    """NORM layers, plus norms folded into a weight layer with no layer of their own."""
    absorbed = absorbed_nodes(shape)
    norms = [name for name in shape.order if shape.layer(name).kind == LayerKind.NORM]
    owners_with_node = {absorbed[name] for name in norms if name in absorbed}
    folded = [
        name
        for name in shape.order
        if shape.is_weight(name) and shape.layer(name).normalization and name not in owners_with_node
    ]
    return len(norms) + len(folded)


def _gain_profile(
    shape: GraphShape,
    signals: Mapping[str, LayerSignal],
    stacks: tuple[PlainStack, ...],
    sums: tuple[ResidualSum, ...],
    bn_relu: tuple[str, ...],
) -> dict[str, float]:
    """Predicted squared gradient norm at each main-path layer relative to the last one.

    Walking the main path backwards: a plain-stack step multiplies by its factor, a BN-ReLU
    layer by Yang's factor, a residual merge by its stream growth; anything unknown counts 1.
    """
    factor: dict[str, float] = {}
    for stack in stacks:
        for step in stack.steps:
            factor[step.layer] = step.factor if step.factor is not None else 1.0
    for name in bn_relu:
        factor[name] = BATCHNORM_RELU_GAIN
    for name in shape.main_path:  # activations after merges (ResNet's ReLU after the add)
        signal = signals[name]
        if shape.layer(name).kind == LayerKind.OTHER and signal.absorbed_into is None:
            factor[name] = signal.derivative_moment if signal.derivative_moment is not None else 1.0
    for item in sums:
        if item.on_main_path and item.growth is not None:
            factor[item.merge.fork] = factor.get(item.merge.fork, 1.0) * item.growth
    profile: dict[str, float] = {}
    gain = 1.0
    for name in reversed(shape.main_path):
        gain = min(gain * factor.get(name, 1.0), math.inf)
        profile[name] = gain
    return profile


def _first_value(profile: Mapping[str, float], path: tuple[str, ...]) -> float | None:
    return profile.get(path[0]) if path else None
