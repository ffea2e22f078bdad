"""The forward variance map over a LayerGraph, and the mean-field gain of every layer.

Inputs are N(0, 1) (second moment 1); an embedding emits its table's second moment. Each
node's output second moment m follows from its inputs':
- weight layer: pre-activation z ~ N(b, q) with q = sigma_w^2 * m_in (sigma_w^2 = std^2 *
  fan_in, b the bias mean); with a normalization right after the weight, z is renormalized to
  N(0, gamma^2) and the weight scale drops out. Output m = E[phi(z)^2];
- activation layer not already folded into its weight layer: the same map with q = m_in;
- normalization: gamma^2 + beta^2; a learned scale (LayerScale, SkipInit) multiplies m by
  its mean square; pooling and reshapes keep m;
- ADD: the sum of its inputs (the variance-sum rule for independent branches); CONCAT: the
  mean; attention output: its value input; any other op with several inputs (SwiGLU's gate *
  up): the product.

PyTorch LayerGraphs keep normalization and activation modules as layers of their own while
also recording them on the weight layer (`conv.normalization`, `conv.activation`); ONNX folds
them into the weight layer. Nodes a weight layer already accounts for are *absorbed*: they
pass its output on unchanged, so nothing is applied twice.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Mapping

from gradlint.analysis.mean_field import ACTIVATIONS, canonical_activation, gaussian_expectation
from gradlint.analysis.static_graph import GraphShape
from gradlint.analysis.static_weights import onnx_output_scale
from gradlint.model import Layer, LayerKind, LoadedModel

_MATRIX_KINDS = frozenset({LayerKind.LINEAR, LayerKind.CONV})
_MERGE_KINDS = frozenset({LayerKind.ADD, LayerKind.CONCAT, LayerKind.ATTENTION})


@dataclass(frozen=True)
class LayerSignal:
    """The predicted forward signal at one layer (None: not predictable here)."""

    activation: str | None  # canonical mean-field name; None when unknown
    sigma_w2: float | None  # weight std^2 * fan_in
    normalized: bool  # a normalization follows the weight and sets the pre-activation scale
    pre_activation_variance: float | None  # q of the pre-activation (weight part)
    pre_activation_mean: float  # the bias mean (0 when normalized)
    derivative_moment: float | None  # E[phi'(z)^2]
    centered_derivative_moment: float | None  # the same with the bias mean left out
    active_fraction: float | None  # P(phi'(z) > 0) for the ReLU family
    output_second_moment: float | None  # m of the layer's output
    absorbed_into: str | None = None  # the weight layer that already applied this node

    @property
    def chi(self) -> float | None:
        """sigma_w^2 * E[phi'(z)^2] for an unnormalized weight layer."""
        if self.normalized or self.sigma_w2 is None or self.derivative_moment is None:
            return None
        return self.sigma_w2 * self.derivative_moment


def propagate(model: LoadedModel, shape: GraphShape) -> dict[str, LayerSignal]:
    """The LayerSignal of every layer, in execution order."""
    absorbed = absorbed_nodes(shape)
    float_inputs = {spec.name: spec.is_float for spec in model.inputs}
    signals: dict[str, LayerSignal] = {}
    for name in shape.order:
        layer = shape.layer(name)
        inputs = [signals[p].output_second_moment for p in shape.graph.predecessors(name)]
        if name in absorbed:
            owner = signals[absorbed[name]]
            signals[name] = _passed(owner.output_second_moment, absorbed[name])
        else:
            signals[name] = _signal(model, layer, inputs, shape, signals, float_inputs)
    return signals


def absorbed_nodes(shape: GraphShape) -> dict[str, str]:
    """Norm and activation layers a weight layer already records, mapped to that weight layer."""
    absorbed: dict[str, str] = {}
    for name in shape.order:
        layer = shape.layer(name)
        if layer.kind not in _MATRIX_KINDS:
            continue
        norm_left, act_left = layer.normalization is not None, layer.activation is not None
        current = name
        while norm_left or act_left:
            successors = shape.graph.successors(current)
            if len(successors) != 1 or len(shape.graph.predecessors(successors[0])) != 1:
                break
            follower = shape.layer(successors[0])
            if norm_left and follower.kind == LayerKind.NORM:
                norm_left = False
            elif act_left and follower.kind == LayerKind.OTHER and follower.activation == layer.activation:
                act_left = False
                norm_left = False
            else:
                break
            absorbed[follower.name] = name
            current = follower.name
    return absorbed


def _passed(moment: float | None, owner: str | None = None) -> LayerSignal:
    return LayerSignal(None, None, False, None, 0.0, None, None, None, moment, owner)


def _signal(
    model: LoadedModel,
    layer: Layer,
    inputs: list[float | None],
    shape: GraphShape,
    signals: Mapping[str, LayerSignal],
    float_inputs: Mapping[str, bool],
) -> LayerSignal:
    if layer.kind == LayerKind.INPUT:
        return _passed(1.0 if float_inputs.get(layer.name, True) else None)
    if layer.kind == LayerKind.EMBEDDING and layer.weight is not None:
        return _passed(layer.weight.std**2 + layer.weight.mean**2)
    if layer.kind in _MATRIX_KINDS:
        signal = _weight_signal(layer, _single(inputs), shape)
        scale = onnx_output_scale(model, layer)
        if scale == 1.0 or signal.output_second_moment is None:
            return signal
        return replace(signal, output_second_moment=signal.output_second_moment * scale)
    if layer.kind == LayerKind.NORM:
        return _passed(_norm_moment(layer))
    if layer.kind in _MERGE_KINDS:
        return _passed(_merged(layer, inputs, shape, signals))
    if layer.kind == LayerKind.OTHER and layer.activation is not None:
        return _activation_signal(layer.activation, _single(inputs))
    moment = _single(inputs)
    scale = _scale_factor(layer)
    return _passed(None if moment is None or layer.kind == LayerKind.RECURRENT else moment * scale)


def _weight_signal(layer: Layer, moment: float | None, shape: GraphShape) -> LayerSignal:
    activation = canonical_activation(layer.activation)
    sigma_w2 = _sigma_w2(layer)
    normalized = layer.normalization is not None
    if normalized:
        q, mean = _norm_after(layer, shape)
    else:
        known = moment is not None and sigma_w2 is not None
        q, mean = (sigma_w2 * moment if known else None), (layer.bias_mean or 0.0)
    if activation is None or q is None:
        return LayerSignal(activation, sigma_w2, normalized, q, mean, None, None, None, None)
    derivative, second, active = _moments(activation, q, mean)
    centered = derivative if mean == 0.0 else _moments(activation, q, 0.0)[0]
    return LayerSignal(activation, sigma_w2, normalized, q, mean, derivative, centered, active, second)


def _sigma_w2(layer: Layer) -> float | None:
    """std^2 * fan_in; None when the weight is not random (constant or zero: no mean field)."""
    if layer.weight is None or not layer.fan_in or layer.weight.std == 0.0:
        return None
    return layer.weight.scaled_std**2


def _activation_signal(name: str, moment: float | None) -> LayerSignal:
    activation = canonical_activation(name)
    if activation is None or moment is None:
        return LayerSignal(activation, None, False, moment, 0.0, None, None, None, moment)
    derivative, second, active = _moments(activation, moment, 0.0)
    return LayerSignal(activation, None, False, moment, 0.0, derivative, derivative, active, second)


def _moments(activation: str, variance: float, mean: float) -> tuple[float, float, float | None]:
    """E[phi'(z)^2], E[phi(z)^2] and P(phi'(z) > 0) for z ~ N(mean, variance)."""
    phi, derivative = ACTIVATIONS[activation]
    variance = max(variance, _SMALLEST_VARIANCE)  # q -> 0+: the limit, not phi'(0) alone
    d2 = gaussian_expectation(lambda z: derivative(z + mean) ** 2, variance)
    m2 = gaussian_expectation(lambda z: phi(z + mean) ** 2, variance)
    active = None
    if activation in RELU_FAMILY:
        active = gaussian_expectation(lambda z: (derivative(z + mean) > 0.5).astype(float), variance)
    return d2, m2, active


RELU_FAMILY = frozenset({"relu", "relu6", "leaky_relu"})
_SMALLEST_VARIANCE = 1e-30


def _norm_after(layer: Layer, shape: GraphShape) -> tuple[float, float]:
    """(gamma^2, beta) of the normalization after a weight layer ((1, 0) when not visible)."""
    for successor in shape.graph.successors(layer.name):
        follower = shape.layer(successor)
        if follower.kind == LayerKind.NORM and follower.weight is not None:
            gamma2 = follower.weight.std**2 + follower.weight.mean**2
            return gamma2, follower.bias_mean or 0.0
    return 1.0, 0.0


def _norm_moment(layer: Layer) -> float:
    if layer.weight is None:
        return 1.0 + (layer.bias_mean or 0.0) ** 2
    gamma = layer.weight.std**2 + layer.weight.mean**2
    return gamma + (layer.bias_mean or 0.0) ** 2


def _scale_factor(layer: Layer) -> float:
    """A learned elementwise scale (LayerScale, SkipInit's alpha) multiplies by its mean square."""
    if layer.weight is None or not any(op.lower().startswith("mul") for op in layer.op_types):
        return 1.0
    return layer.weight.std**2 + layer.weight.mean**2


def _merged(
    layer: Layer, inputs: list[float | None], shape: GraphShape, signals: Mapping[str, LayerSignal]
) -> float | None:
    if any(value is None for value in inputs) or not inputs:
        return None
    if layer.kind == LayerKind.ADD:
        return sum(inputs)
    if layer.kind == LayerKind.CONCAT:
        return sum(inputs) / len(inputs)
    values = [
        signals[p].output_second_moment
        for p in shape.graph.predecessors(layer.name)
        if shape.layer(p).kind != LayerKind.ATTENTION
    ]
    return values[-1] if len(values) < len(inputs) and values else _product(inputs)


def _single(inputs: list[float | None]) -> float | None:
    """The second moment entering a one-input op; several inputs (gating) multiply."""
    if not inputs or any(value is None for value in inputs):
        return None
    return _product(inputs)


def _product(values: list[float]) -> float:
    result = 1.0
    for value in values:
        result *= value
    return result
