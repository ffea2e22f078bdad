"""What the measured rules (GL303/304, GL4xx, GL5xx) share: comparable gradient measures along
the main path, and the weight parameters of weight layers.

The probe's `grad_profile` is the total gradient norm at a layer output with pooling's fixed
shrinkage divided out: across a weight layer it changes by the mean-field gain chi whatever
the widths. Normalization layers rescale it by construction; `main_path_segments` says how the
rules still compare like with like.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from gradlint.analysis.facts import LayerProbe, ParameterProbe
from gradlint.model import LayerGraph, LayerKind
from gradlint.registry import RuleContext
from gradlint.static_support import static_of

WEIGHT_KINDS = frozenset({LayerKind.LINEAR, LayerKind.CONV})


@dataclass(frozen=True)
class ProfilePoint:
    layer: str
    value: float


def main_path_segments(ctx: RuleContext) -> list[list[ProfilePoint]]:
    """Comparable gradient measures along the main path, in execution order, as segments.

    Two measures, each compared only where it is a gain:
    - across normalization layers, the log-sensitivity ||g|| * rms(h): a norm divides by its
      input scale, so ||g|| alone jumps by std_out / std_in at every norm (20x at a MobileNetV2
      conv of std 0.02 before its BatchNorm) while ||g|| * rms(h) is unchanged by any rescaling
      and still grows with Yang's batch-statistics explosion. One segment: the whole path.
    - between normalization layers, the total norm ||g|| itself (chi per layer): where nothing
      renormalizes, a forward explosion (2x He init, unscaled residual sums) and its backward
      twin cancel in ||g|| * rms(h), so plain stretches are compared raw. One segment per
      stretch between norms.
    Unprobed residual merges (a PyTorch add has no module to hook) are skipped: reading them at
    a branch input would read a LayerScale'd gradient."""
    probe, graph = ctx.facts.probe, ctx.model.graph
    if probe is None:
        return []
    sensitivity: list[ProfilePoint] = []
    stretches: list[list[ProfilePoint]] = [[]]
    for name in static_of(ctx).main_path:
        measured = probe.layer(name)
        value = None if measured is None else measured.grad_profile
        if _is_norm(graph, name):
            stretches.append([])
        if value is None or not math.isfinite(value) or value <= 0:
            continue
        stretches[-1].append(ProfilePoint(name, value))
        rms = _rms(measured)
        if rms > 0 and math.isfinite(rms):
            sensitivity.append(ProfilePoint(name, value * rms))
    return [segment for segment in (sensitivity, *stretches) if len(segment) >= 2]


def _is_norm(graph: LayerGraph, name: str) -> bool:
    """A norm layer, or a weight layer with its norm merged in (ONNX); a PyTorch weight layer
    records the norm that follows it, which is then a layer of its own."""
    layer = graph.layer(name)
    if layer.kind == LayerKind.NORM:
        return True
    merged = all(graph.layer(after).kind != LayerKind.NORM for after in graph.successors(name))
    return layer.kind in WEIGHT_KINDS and layer.normalization is not None and merged


def _rms(measured: LayerProbe) -> float:
    return math.sqrt((measured.mean or 0.0) ** 2 + (measured.std or 0.0) ** 2)


def widest_change(segments: list[list[ProfilePoint]], growing: bool) -> tuple[float, ProfilePoint, ProfilePoint] | None:
    """The largest growth (or, `growing=False`, shrinkage) of the gradient going backward
    between an upstream point and any point downstream of it: (ratio, upstream, downstream)."""
    best: tuple[float, ProfilePoint, ProfilePoint] | None = None
    for segment in segments:
        # Scan from the output end, keeping the smallest (largest) downstream value seen.
        extreme: ProfilePoint | None = None
        for point in reversed(segment):
            if extreme is not None:
                ratio = point.value / extreme.value
                if best is None or (ratio > best[0] if growing else ratio < best[0]):
                    best = (ratio, point, extreme)
            if extreme is None or (point.value < extreme.value if growing else point.value > extreme.value):
                extreme = point
    return best


def weight_parameters(ctx: RuleContext) -> list[tuple[str, ParameterProbe]]:
    """(layer, parameter) for the main weight of every linear/conv layer the probe measured.

    A parameter belongs to a layer when it is named `<layer>.weight` (PyTorch) or is the weight
    initializer of an ONNX layer (named in its op inputs via the graph's layer nodes)."""
    probe = ctx.facts.probe
    if probe is None:
        return []
    graph = ctx.model.graph
    owners = {layer.name: layer for layer in graph.layers() if layer.kind in WEIGHT_KINDS}
    found = []
    for parameter in probe.parameters:
        owner = parameter.name[: -len(".weight")] if parameter.name.endswith(".weight") else None
        if owner in owners:
            found.append((owner, parameter))
    return found
