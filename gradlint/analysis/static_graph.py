"""The shape of a LayerGraph that gradient flow depends on: main path, skips, residual merges.

The *main path* is the set of layers every input-to-output path runs through (the dominators
of a virtual sink that collects every output, seen from a virtual source that feeds every
input). Gradient reaching the early layers must pass through each of them; a layer off the
main path has a skip around it. In a plain stack every layer is on the main path; in a
ResNet or a transformer the main path is the residual stream (forks and merges) and the
layers inside blocks are bypassed.

A *residual merge* is an ADD whose inputs come from one fork (its immediate dominator) along
paths of different depth: the shallower input is the skip (identity or a projection), the
deeper ones the branch. Adds whose inputs share no fork but the virtual source (token +
position embeddings) or have equal depth (parallel branches) are not residual.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Callable

import networkx as nx

from gradlint.model import Layer, LayerGraph, LayerKind

SOURCE = "\0source"
SINK = "\0sink"
WEIGHT_KINDS = frozenset({LayerKind.LINEAR, LayerKind.CONV, LayerKind.EMBEDDING, LayerKind.RECURRENT})


@dataclass(frozen=True)
class ResidualMerge:
    """One residual ADD: where it forks, which layers its branch holds, which its skip."""

    merge: str
    fork: str
    branch: tuple[str, ...]  # layers strictly between fork and merge on the deeper input(s)
    skip: tuple[str, ...]  # layers on the shallower input (empty for an identity skip)
    branch_inputs: tuple[str, ...]  # the merge's predecessors that end a branch
    skip_input: str


class GraphShape:
    """Structural queries on one LayerGraph, computed once."""

    def __init__(self, graph: LayerGraph) -> None:
        self.graph = graph
        self.order = [layer.name for layer in graph.layers()]
        self.position = {name: index for index, name in enumerate(self.order)}
        self.closed = _closed_graph(graph)

    def layer(self, name: str) -> Layer:
        return self.graph.layer(name)

    def is_weight(self, name: str) -> bool:
        return name in self.graph and self.layer(name).kind in WEIGHT_KINDS

    @cached_property
    def dominators(self) -> dict[str, str]:
        return nx.immediate_dominators(self.closed, SOURCE)

    @cached_property
    def main_path(self) -> tuple[str, ...]:
        """Layers on every input-to-output path, in execution order."""
        chain, node = [], SINK
        while node != SOURCE and node in self.dominators:
            node = self.dominators[node]
            if node != SOURCE:
                chain.append(node)
        return tuple(sorted(chain, key=self.position.__getitem__))

    @cached_property
    def main_path_set(self) -> frozenset[str]:
        return frozenset(self.main_path)

    @cached_property
    def residual_merges(self) -> tuple[ResidualMerge, ...]:
        merges = (self._residual(layer.name) for layer in self.graph.layers() if layer.kind == LayerKind.ADD)
        return tuple(merge for merge in merges if merge is not None)

    @cached_property
    def longest_weight_path(self) -> int:
        """Weight layers on the longest input-to-output path."""
        depth: dict[str, int] = {}
        for name in self.order:
            before = max((depth[p] for p in self.graph.predecessors(name)), default=0)
            depth[name] = before + (1 if self.is_weight(name) else 0)
        return max(depth.values(), default=0)

    def _residual(self, merge: str) -> ResidualMerge | None:
        inputs = self.graph.predecessors(merge)
        fork = self.dominators.get(merge)
        if len(inputs) < 2 or fork is None or fork == SOURCE:
            return None
        between = {name: self.between(fork, name) for name in inputs}
        shallowest = {name: self._weight_depth(fork, name, between[name], min) for name in inputs}
        deepest = {name: self._weight_depth(fork, name, between[name], max) for name in inputs}
        skip_input = min(inputs, key=lambda name: (shallowest[name], self.position[name]))
        branch_inputs = [n for n in inputs if n != skip_input and deepest[n] > shallowest[skip_input]]
        if not branch_inputs:
            return None
        branch = set().union(*(between[name] for name in branch_inputs)) - between[skip_input]
        return ResidualMerge(
            merge=merge,
            fork=fork,
            branch=self._ordered(branch),
            skip=self._ordered(between[skip_input]),
            branch_inputs=tuple(branch_inputs),
            skip_input=skip_input,
        )

    def between(self, fork: str, end: str) -> set[str]:
        """Layers after `fork` and up to `end` (inclusive) on paths fork -> end."""
        if end == fork:
            return set()
        return (nx.ancestors(self.graph.graph, end) | {end}) & nx.descendants(self.graph.graph, fork)

    def _weight_depth(self, fork: str, end: str, nodes: set[str], pick: Callable[..., int]) -> int:
        """Weight layers on the deepest (pick=max) or shallowest (pick=min) path fork -> end."""
        depth: dict[str, int] = {fork: 0}
        for name in self._ordered(nodes):
            before = [depth[p] for p in self.graph.predecessors(name) if p in depth]
            depth[name] = pick(before, default=0) + (1 if self.is_weight(name) else 0)
        return depth.get(end, 0)

    def _ordered(self, names: set[str]) -> tuple[str, ...]:
        return tuple(sorted(names, key=self.position.__getitem__))


def _closed_graph(graph: LayerGraph) -> nx.DiGraph:
    """The layer graph with a virtual source before every entry and a sink after every exit."""
    closed = nx.DiGraph(graph.graph.edges)
    closed.add_nodes_from(graph.graph.nodes)
    for name in graph.graph.nodes:
        if graph.graph.in_degree(name) == 0:
            closed.add_edge(SOURCE, name)
        if graph.graph.out_degree(name) == 0:
            closed.add_edge(name, SINK)
    closed.add_node(SOURCE)
    closed.add_node(SINK)
    return closed
