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
    """What the most recent forward fed a layer: input names and shapes, frozen values by name."""

    input_names: tuple[str, ...]
    frozen: Mapping[str, torch.Tensor]
    input_shapes: tuple[torch.Size, ...] = ()

    def frozen_like(self, tensors: Sequence[torch.Tensor]) -> dict[str, torch.Tensor]:
        """The frozen values, sliced as `tensors` are sliced from the recorded inputs.

        A layer re-run on a slice of its inputs (one sample, a crop of tokens) must read the
        same slice of the per-sample values computed outside it: GPT-2's attention reads a
        boolean NaN mask of the scores' shape, and unsliced it broadcast a one-sample call
        back to the whole batch. Only frozen values of a sliced input's rank and full size on
        the sliced axis follow (shape tensors do not)."""
        cuts: dict[tuple[int, int], tuple[int, int]] = {}  # (rank, axis) -> (full, kept)
        for recorded, tensor in zip(self.input_shapes, tensors):
            if len(recorded) == tensor.dim():
                for axis, (full, kept) in enumerate(zip(recorded, tensor.shape)):
                    if kept < full:
                        cuts[(tensor.dim(), axis)] = (full, kept)
        if not cuts:
            return dict(self.frozen)
        return {name: _cut(value, cuts) for name, value in self.frozen.items()}


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
    return LayerSnapshot(input_names, frozen, tuple(env[name].shape for name in input_names))


def _cut(value: torch.Tensor, cuts: Mapping[tuple[int, int], tuple[int, int]]) -> torch.Tensor:
    for (rank, axis), (full, kept) in cuts.items():
        if value.dim() == rank and value.shape[axis] == full:
            value = value.narrow(axis, 0, kept)
    return value
