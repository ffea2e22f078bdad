"""Segments of the main path that compound a gain: plain stacks, BN-ReLU layers, residual sums.

A *plain stack* is a maximal run of main-path LINEAR/CONV layers with no normalization after
their weights and nothing between them but activations, pooling and reshapes (no merge, no
fork, no norm). Along it the mean-field gradient gain compounds: from the output of layer i+1
back to the output of layer i the squared gradient norm changes by
E[phi_i'(z_i)^2] * sigma_w^2(i+1), the *step* attributed to layer i (its activation, the next
layer's weight). The product of the steps is the predicted ratio of squared gradient norms at
the stack's first and last layer outputs (what a probe measures).

A *residual sum* is a residual merge with what its branch does to the signal: whether the
branch holds a normalization (its output scale is then fixed and the stream grows additively,
as in pre-LN transformers and BN ResNets) and the stream variance growth m(merge) / m(fork)
(multiplicative when the branch is unnormalized: 1 + sigma_branch^2 per block).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable, Mapping

from gradlint.analysis.static_graph import GraphShape, ResidualMerge
from gradlint.analysis.static_variance import RELU_FAMILY, LayerSignal
from gradlint.model import LayerKind

_MATRIX_KINDS = frozenset({LayerKind.LINEAR, LayerKind.CONV})
_TRANSPARENT_KINDS = frozenset({LayerKind.OTHER, LayerKind.POOL})
# Yang et al. 2019: squared gradient norm grows by pi / (pi - 1) per BN-ReLU layer (wide
# batch limit; smaller batches explode faster, so this is a lower bound).
BATCHNORM_RELU_GAIN = math.pi / (math.pi - 1.0)
_SMALL_BRANCH = 0.01  # a branch below 1% of the stream's second moment starts as the identity


@dataclass(frozen=True)
class StackStep:
    layer: str  # the weight layer whose activation derivative this step uses
    activation: str | None
    factor: float | None  # squared gradient-norm gain from layer+1's output to this layer's
    scale_factor: float | None  # the same with biases left out: what the weight scale does


@dataclass(frozen=True)
class PlainStack:
    layers: tuple[str, ...]  # weight layers, in execution order
    steps: tuple[StackStep, ...]  # one per layer but the last

    def gain(
        self, counts: Callable[[str | None], bool] = lambda activation: True, centered: bool = False
    ) -> float | None:
        """Squared gradient-norm gain over the steps whose activation `counts` (None: unknown).

        `centered` leaves biases out, isolating what the weight scale does.
        """
        chosen = [
            step.scale_factor if centered else step.factor
            for step in self.steps
            if counts(step.activation)
        ]
        if any(factor is None for factor in chosen):
            return None
        return math.prod(chosen)


@dataclass(frozen=True)
class ResidualSum:
    merge: ResidualMerge
    normalized: bool  # the branch holds a normalization
    scaled: bool  # a learned scale, zero weight or zero gamma makes the branch ~0 at init
    branch_ratio: float | None  # m(branch output) / m(skip input)
    growth: float | None  # m(merge) / m(fork): stream variance growth over the block
    on_main_path: bool


def plain_stacks(shape: GraphShape, signals: Mapping[str, LayerSignal]) -> tuple[PlainStack, ...]:
    stacks: list[list[str]] = []
    current: list[str] = []
    previous: str | None = None
    for name in shape.main_path:
        layer = shape.layer(name)
        joined = previous is not None and _plain_link(shape, previous, name)
        if not joined or layer.kind not in _MATRIX_KINDS | _TRANSPARENT_KINDS:
            current = _close(stacks, current)
        if layer.kind in _MATRIX_KINDS:
            if signals[name].normalized:
                current = _close(stacks, current)
            else:
                current.append(name)
        previous = name
    _close(stacks, current)
    return tuple(_stack(layers, signals) for layers in stacks if layers)


def _close(stacks: list[list[str]], current: list[str]) -> list[str]:
    if current:
        stacks.append(current)
    return []


def _plain_link(shape: GraphShape, before: str, after: str) -> bool:
    """`after` follows `before` directly with no fork or join between them."""
    return shape.graph.successors(before) == [after] and shape.graph.predecessors(after) == [before]


def _stack(layers: list[str], signals: Mapping[str, LayerSignal]) -> PlainStack:
    steps = []
    for current, following in zip(layers[:-1], layers[1:]):
        signal, weight = signals[current], signals[following].sigma_w2
        steps.append(StackStep(
            current,
            signal.activation,
            _times(signal.derivative_moment, weight),
            _times(signal.centered_derivative_moment, weight),
        ))
    return PlainStack(tuple(layers), tuple(steps))


def _times(left: float | None, right: float | None) -> float | None:
    return None if left is None or right is None else left * right


def batchnorm_relu_layers(shape: GraphShape, signals: Mapping[str, LayerSignal]) -> tuple[str, ...]:
    """Main-path weight layers followed by batch norm and a ReLU-family activation."""
    return tuple(
        name
        for name in shape.main_path
        if shape.layer(name).kind in _MATRIX_KINDS
        and signals[name].normalized
        and is_batch_norm(shape.layer(name).normalization)
        and signals[name].activation in RELU_FAMILY
    )


def is_batch_norm(normalization: str | None) -> bool:
    return normalization is not None and normalization.replace("_", "").lower() in ("batchnorm", "bn")


def residual_sums(shape: GraphShape, signals: Mapping[str, LayerSignal]) -> tuple[ResidualSum, ...]:
    return tuple(_residual_sum(merge, shape, signals) for merge in shape.residual_merges)


def _residual_sum(merge: ResidualMerge, shape: GraphShape, signals: Mapping[str, LayerSignal]) -> ResidualSum:
    branch_layers = [shape.layer(name) for name in merge.branch]
    normalized = any(
        layer.kind == LayerKind.NORM or (layer.kind in _MATRIX_KINDS and layer.normalization)
        for layer in branch_layers
    )
    moment = {name: signal.output_second_moment for name, signal in signals.items()}
    branch = [moment[name] for name in merge.branch_inputs]
    skip, fork, merged = moment[merge.skip_input], moment[merge.fork], moment[merge.merge]
    ratio = sum(branch) / skip if skip and None not in branch else None
    growth = merged / fork if merged is not None and fork else None
    return ResidualSum(
        merge=merge,
        normalized=normalized,
        scaled=any(_shrinks(layer) for layer in branch_layers) or (ratio is not None and ratio < _SMALL_BRANCH),
        branch_ratio=ratio,
        growth=growth,
        on_main_path=merge.merge in shape.main_path_set,
    )


def _shrinks(layer) -> bool:
    """A zero-initialised weight or gamma, or a small learned scale (LayerScale, SkipInit)."""
    if layer.weight is None:
        return False
    rms = math.sqrt(layer.weight.std**2 + layer.weight.mean**2)
    if layer.kind in _MATRIX_KINDS:
        return rms == 0.0
    return rms < 0.1 and (layer.kind == LayerKind.NORM or any(op.lower().startswith("mul") for op in layer.op_types))


def hanin_layers(shape: GraphShape, stacks: tuple[PlainStack, ...], signals: Mapping[str, LayerSignal]) -> tuple[tuple[str, int], ...]:
    """(layer, width) of the hidden ReLU-family layers of plain stacks: Hanin's beta sums 1/width."""
    found = []
    for stack in stacks:
        for name in stack.layers[:-1]:
            width = unit_count(shape, name)
            if signals[name].activation in RELU_FAMILY and width:
                found.append((name, width))
    return tuple(found)


def unit_count(shape: GraphShape, name: str) -> int | None:
    """Output units of a weight layer: Linear out features, conv out channels."""
    layer = shape.layer(name)
    if layer.weight is None or not layer.weight.shape:
        return None
    dims = layer.weight.shape
    if len(dims) == 2 and layer.fan_in is not None and dims[1] != layer.fan_in and dims[0] == layer.fan_in:
        return dims[1]  # stored (in, out), GPT-2's Conv1D
    return dims[0]
