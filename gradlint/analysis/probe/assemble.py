"""From the probe pass's records to the frozen LayerProbe results.

Every statistic waits on the device as a 0-d tensor until here, where each kind is stacked
and copied to the host once, so a CUDA run synchronises a handful of times, not per layer.
"""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import networkx as nx
import torch

from gradlint.analysis.facts import LayerProbe
from gradlint.analysis.probe.capture import LayerRecord
from gradlint.analysis.probe.gradients import depth_profile, layer_grad_norm
from gradlint.analysis.probe.local_sigma import SigmaResult
from gradlint.model import LayerGraph, LayerKind

_FLOAT_STATS = ("mean", "std", "zero_fraction", "dead_fraction", "saturated_fraction")
_COUNT_STATS = ("nan_count", "inf_count")


def layer_probes(
    records: Sequence[LayerRecord],
    sigmas: Mapping[str, SigmaResult],
    graph: LayerGraph,
    batch: int,
) -> tuple[LayerProbe, ...]:
    stats = _host_stats(records)
    grad_squared = _host_values({r.name: r.grad_squared for r in records})
    grad_norms = {name: layer_grad_norm(value, batch) for name, value in grad_squared.items()}
    gains = _pool_gains(records, graph)
    profile = depth_profile(
        [r.name for r in records], grad_norms, gains, _upstream(records, graph, set(gains))
    )
    return tuple(
        _layer_probe(r.name, stats.get(r.name, {}), grad_norms.get(r.name), profile.get(r.name), sigmas.get(r.name))
        for r in records
    )


def _layer_probe(
    name: str, stats: dict[str, float], grad_norm: float | None, profile: float | None, sigma: SigmaResult | None
) -> LayerProbe:
    return LayerProbe(
        node=name,
        grad_norm=grad_norm,
        sigma_max=sigma.sigma_max if sigma else None,
        dead_fraction=stats.get("dead_fraction"),
        saturated_fraction=stats.get("saturated_fraction"),
        mean=stats.get("mean"),
        std=stats.get("std"),
        zero_fraction=stats.get("zero_fraction"),
        nan_count=int(stats.get("nan_count", 0)),
        inf_count=int(stats.get("inf_count", 0)),
        sigma_iterations=sigma.iterations if sigma else None,
        sigma_converged=sigma.converged if sigma else None,
        extra={"sigma_blocks": sigma.blocks} if sigma else {},
        grad_profile=profile,
        sigma_method=sigma.method if sigma else None,
    )


def _host_stats(records: Sequence[LayerRecord]) -> dict[str, dict[str, float]]:
    result: dict[str, dict[str, float]] = {r.name: {} for r in records}
    for key in _FLOAT_STATS + _COUNT_STATS:
        values = _host_values({r.name: r.stats.get(key) for r in records})
        for name, value in values.items():
            if value is not None:
                result[name][key] = value
    return result


def _host_values(tensors: Mapping[str, torch.Tensor | None]) -> dict[str, float | None]:
    present = {name: t for name, t in tensors.items() if t is not None}
    if not present:
        return {name: None for name in tensors}
    stacked = torch.stack([t.detach().double().reshape(()) for t in present.values()]).cpu().tolist()
    numbers = dict(zip(present, stacked))
    return {name: numbers.get(name) for name in tensors}


def _pool_gains(records: Sequence[LayerRecord], graph: LayerGraph) -> dict[str, float]:
    gains = {}
    for record in records:
        if record.name not in graph or graph.layer(record.name).kind is not LayerKind.POOL:
            continue
        if record.grad_squared is None or record.input_grad_squared is None:
            continue
        out_sq, in_sq = float(record.grad_squared), float(record.input_grad_squared)
        if in_sq > 0 and out_sq > 0 and math.isfinite(out_sq / in_sq):
            gains[record.name] = math.sqrt(out_sq / in_sq)
    return gains


def _upstream(records: Sequence[LayerRecord], graph: LayerGraph, pools: set[str]) -> dict[str, set[str]]:
    """Layers that feed each pool: graph ancestors, or earlier taps when it is not in the graph."""
    names = [r.name for r in records]
    result = {}
    for index, name in enumerate(names):
        if name not in pools:
            continue
        if name in graph:
            result[name] = set(nx.ancestors(graph.graph, name))
        else:
            result[name] = set(names[:index])
    return result
