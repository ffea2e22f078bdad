"""What the static rules (GL1xx, GL2xx, GL3xx static) share: their facts, numbers, init advice."""
from __future__ import annotations

import math
import weakref
from typing import Iterable

from gradlint.analysis.static import StaticFacts, empty_static_facts, static_facts_or_diagnostic
from gradlint.model import LayerKind
from gradlint.registry import RuleContext

SIGMOID_FAMILY = frozenset({"sigmoid", "hardsigmoid"})

_computed: "weakref.WeakKeyDictionary[object, StaticFacts]" = weakref.WeakKeyDictionary()


def static_of(ctx: RuleContext) -> StaticFacts:
    """The model's static facts: from the pipeline, or computed once here when a caller ran the
    rules on Facts without them (a rule test, a third-party driver). When the analysis cannot
    run (the pipeline then reported a 'static-failed' diagnostic) the facts are empty and the
    static rules stay silent."""
    if ctx.facts.static is not None:
        return ctx.facts.static
    graph = ctx.model.graph
    if graph not in _computed:
        facts, _ = static_facts_or_diagnostic(ctx.model)
        _computed[graph] = facts if facts is not None else empty_static_facts()
    return _computed[graph]


def norm_gain(squared: float | None) -> float | None:
    """A gradient-norm ratio from a squared one."""
    return None if squared is None else math.sqrt(max(squared, 0.0))


def number(value: float | None) -> str:
    """A number for a message: 3 significant digits, scientific when far from 1."""
    if value is None:
        return "unknown"
    if value == 0 or math.isinf(value):
        return str(value) if math.isinf(value) else "0"
    return f"{value:.3g}"


def init_advice(activation: str | None) -> tuple[str, float]:
    """(the init to use, the sigma_w^2 = std^2 * fan_in it sets) for an activation."""
    if activation in ("relu", "relu6", "leaky_relu", "elu", "gelu", "silu", "hardswish", "softplus"):
        return "He/Kaiming: nn.init.kaiming_normal_(w, nonlinearity='relu'), std = sqrt(2 / fan_in)", 2.0
    if activation == "selu":
        return "LeCun normal: nn.init.kaiming_normal_(w, nonlinearity='linear'), std = 1 / sqrt(fan_in)", 1.0
    if activation == "tanh":
        return "Glorot/LeCun (nn.init.xavier_normal_) or orthogonal (nn.init.orthogonal_, gain 1)", 1.0
    return "LeCun/orthogonal: nn.init.orthogonal_(w) or std = 1 / sqrt(fan_in)", 1.0


def folded_norm_hint(ctx: RuleContext, layers: Iterable[str]) -> str:
    """A note for ONNX conv layers without normalization: an eval-mode export may have folded
    their BatchNorm into the weights, making the file a different (unnormalized) model."""
    graph = ctx.model.graph
    convs = any(name in graph and graph.layer(name).kind == LayerKind.CONV for name in layers)
    if ctx.model.format != "onnx" or not convs:
        return ""
    return (
        "; if this file is an eval-mode export, BatchNorm may have been folded into these "
        "convolutions: lint the training-mode export or the PyTorch model instead"
    )

