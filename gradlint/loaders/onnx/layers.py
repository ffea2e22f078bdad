"""Build the LayerGraph of an ONNX model.

One node per layer in the sense of DESIGN.md: INPUT per real graph input, one per
weight-bearing op (with the activations, bias adds, folded BatchNorm and reshapes after it),
NORM, POOL, ADD / CONCAT merges, ATTENTION (MatMul of two activations), OTHER for elementwise
ops and reshapes no weight layer claims, and OUTPUT per graph output. Shape plumbing and side
inputs (attention masks) are not layers; data flowing through them still makes edges.

`If`/`Loop` nodes are opaque here (one OTHER layer each); `specialize.inline_if_branches`
inlines the branch the probe inputs select beforehand, so a model like silero VAD shows its
convolutions and LSTM as top-graph layers.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Iterable

import onnx

from gradlint.loaders.onnx.constants import constant_values
from gradlint.loaders.onnx.graph_index import GraphIndex
from gradlint.loaders.onnx.layers_describe import LayerFields, clip_bound_names, describe
from gradlint.loaders.onnx.layers_names import (
    NameAllocator, fallback_name, metadata_names, readable_name, scope_name,
)
from gradlint.loaders.onnx.layers_segment import Segment, segment_layers
from gradlint.loaders.onnx.layers_signal import SignalInfo, find_signal
from gradlint.loaders.onnx.layers_weights import weight_refs
from gradlint.model import Layer, LayerGraph, LayerKind


def build_layer_graph(model: onnx.ModelProto) -> LayerGraph:
    index = GraphIndex(model)
    signal = find_signal(index)
    segments = segment_layers(index, signal)
    fields = _describe_all(index, signal, segments)
    names = NameAllocator()
    inputs = {name: names.claim(name) for name in index.input_names}
    layer_names = [_segment_name(index, segment, names) for segment in segments]
    layers = [Layer(name=inputs[n], kind=LayerKind.INPUT, output=n) for n in index.input_names]
    layers += [_layer(name, f) for name, f in zip(layer_names, fields)]
    edges = _edges(index, segments, layer_names, inputs)
    outputs, output_edges = _outputs(index, segments, layer_names, inputs, names)
    return _assemble(layers + outputs, edges + output_edges)


def _describe_all(index: GraphIndex, signal: SignalInfo, segments: list[Segment]) -> list[LayerFields]:
    refs = [weight_refs(index, signal, segment) for segment in segments]
    needed = [name for ref in refs for name in ref.names()]
    needed += [
        name for segment in segments for pos in segment.nodes
        for name in clip_bound_names(index.nodes[pos])
    ]
    values = constant_values(index, needed)
    return [describe(index, signal, s, r, values) for s, r in zip(segments, refs)]


def _segment_name(index: GraphIndex, segment: Segment, names: NameAllocator) -> str:
    anchor = index.nodes[segment.anchor]
    node_name = anchor.name
    # dynamo node names ("node_MatMul_55") say nothing: its module scopes replace them.
    preferred = metadata_names(anchor) or [readable_name(node_name), fallback_name(node_name), node_name]
    if segment.normalization is not None:  # a decomposed norm: name it after its scope
        scope = scope_name([index.nodes[pos].name for pos in segment.nodes])
        preferred = [scope or "", *preferred]
    return names.claim(*preferred)


def _layer(name: str, fields: LayerFields) -> Layer:
    return Layer(
        name=name,
        kind=fields.kind,
        op_types=fields.op_types,
        nodes=fields.nodes,
        output=fields.output,
        fan_in=fields.fan_in,
        fan_out=fields.fan_out,
        weight=fields.weight,
        bias_mean=fields.bias_mean,
        activation=fields.activation,
        normalization=fields.normalization,
    )


class _Sources:
    """Which layers a value's data comes from, seeing through plumbing and side inputs."""

    def __init__(self, index: GraphIndex, owner: dict[int, str], inputs: dict[str, str]) -> None:
        self.index, self.owner, self.inputs = index, owner, inputs
        self.through: dict[int, frozenset[str]] = {}
        for pos, reads in enumerate(index.node_inputs):
            if pos not in owner and any(name in index.data_dependent for name in reads):
                self.through[pos] = frozenset().union(*(self.of(name) for name in reads))

    def of(self, value: str) -> frozenset[str]:
        if value in self.inputs:
            return frozenset({self.inputs[value]})
        pos = self.index.producer.get(value)
        if pos is None or value not in self.index.data_dependent:
            return frozenset()
        if pos in self.owner:
            return frozenset({self.owner[pos]})
        return self.through.get(pos, frozenset())


def _owners(segments: list[Segment], layer_names: list[str]) -> dict[int, str]:
    return {pos: name for segment, name in zip(segments, layer_names) for pos in segment.nodes}


def _edges(
    index: GraphIndex, segments: list[Segment], layer_names: list[str], inputs: dict[str, str]
) -> list[tuple[str, str]]:
    owner = _owners(segments, layer_names)
    sources = _Sources(index, owner, inputs)
    rank = {name: i for i, name in enumerate([*inputs.values(), *layer_names])}
    edges: list[tuple[str, str]] = []
    for segment, target in zip(segments, layer_names):
        for pos in sorted(segment.nodes):
            for value in index.node_inputs[pos]:
                for source in sorted(sources.of(value)):
                    # Side inputs can point backwards (a mask computed from a later layer);
                    # keeping only forward edges keeps the graph acyclic.
                    if source != target and rank[source] < rank[target]:
                        edges.append((source, target))
    return list(dict.fromkeys(edges))


def _outputs(
    index: GraphIndex,
    segments: list[Segment],
    layer_names: list[str],
    inputs: dict[str, str],
    names: NameAllocator,
) -> tuple[list[Layer], list[tuple[str, str]]]:
    sources = _Sources(index, _owners(segments, layer_names), inputs)
    layers: list[Layer] = []
    edges: list[tuple[str, str]] = []
    for value in index.output_names:
        found = sorted(sources.of(value))
        if not found:
            continue
        name = names.claim(value, f"output:{value}")
        layers.append(Layer(name=name, kind=LayerKind.OUTPUT, output=value))
        edges.extend((source, name) for source in found)
    return layers, edges


def _assemble(layers: list[Layer], edges: Iterable[tuple[str, str]]) -> LayerGraph:
    graph = LayerGraph()
    for layer in layers:
        graph.add_layer(layer)
    for source, target in edges:
        graph.add_edge(source, target)
    depth: dict[str, int] = {}
    for layer in layers:  # creation order is topological: edges only point forward
        preds = graph.predecessors(layer.name)
        depth[layer.name] = max((depth[p] + 1 for p in preds), default=0)
        graph.graph.nodes[layer.name]["layer"] = replace(layer, depth=depth[layer.name])
    return graph
