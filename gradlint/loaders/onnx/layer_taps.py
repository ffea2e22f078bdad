"""Layers over a compiled ONNX program: which nodes each covers and what flows into it.

A layer's *inputs* are the float, non-constant values its nodes read from outside the layer
(activations), in order of first use. Everything else its nodes read from outside (shape
tensors, constants computed by other nodes) is a *frozen* value, remembered from the most
recent forward so the layer can be re-run alone as a pure function of its inputs.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import torch

from gradlint.loaders.onnx.program import CompiledNode, Program, reads
from gradlint.model import Layer


@dataclass(frozen=True)
class LayerPlan:
    name: str
    output: str
    nodes: tuple[CompiledNode, ...]
    boundary: tuple[str, ...]  # values read from outside the layer, initializers excluded


@dataclass(frozen=True)
class LayerSnapshot:
    """What the most recent forward fed a layer: input names, and frozen values by name."""

    input_names: tuple[str, ...]
    frozen: Mapping[str, torch.Tensor]


def plan_layers(program: Program, layers: Sequence[Layer]) -> dict[str, LayerPlan]:
    by_name: dict[str, CompiledNode] = {}
    order: dict[str, int] = {}
    for index, node in enumerate(program.walk()):
        by_name.setdefault(node.name, node)
        order.setdefault(node.name, index)
    initializers = {n for p in program.walk_programs() for n in p.initializers}
    plans = {}
    for layer in layers:
        names = sorted((n for n in layer.nodes if n in by_name), key=order.__getitem__)
        nodes = tuple(by_name[n] for n in names)
        plans[layer.name] = LayerPlan(layer.name, layer.output, nodes,
                                      _boundary(nodes, initializers))
    return plans


def _boundary(nodes: Sequence[CompiledNode], initializers: set[str]) -> tuple[str, ...]:
    produced = {out for node in nodes for out in node.outputs if out}
    seen: dict[str, None] = {}
    for node in nodes:
        ordered_reads = [n for n in node.inputs if n] + sorted(reads(node) - set(node.inputs))
        for name in ordered_reads:
            if name not in produced and name not in initializers:
                seen.setdefault(name, None)
    return tuple(seen)


def snapshot(
    plan: LayerPlan, env: Mapping[str, torch.Tensor], constants: set[str], output: torch.Tensor
) -> LayerSnapshot:
    """Split the layer's boundary values into activations (inputs) and frozen values."""
    input_names = tuple(
        name for name in plan.boundary
        if name in env and name not in constants and env[name].is_floating_point()
    )
    frozen = {
        name: env[name].detach() for name in plan.boundary
        if name in env and name not in input_names
    }
    if not plan.nodes:
        frozen[plan.output] = output.detach()
    return LayerSnapshot(input_names, frozen)
