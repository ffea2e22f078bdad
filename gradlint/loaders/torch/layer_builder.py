"""From OpRecords to a LayerGraph: layers, kinds, weight statistics, activations, depth.

Kinds come from the ops a layer runs (a convolution makes CONV, a matrix product with a
parameter LINEAR), with the module class as a hint for normalizations written by hand
(`LlamaRMSNorm`). A weight layer records the activation that follows it, looking through
views, dropout and one normalization layer: conv -> bn -> relu gives the conv
`normalization="batch_norm"`, `activation="relu"`.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Sequence

import networkx as nx

from gradlint.loaders.torch.data_flow import DataFlow, trace_data_flow
from gradlint.loaders.torch.layer_groups import OpGroup, module_groups
from gradlint.loaders.torch.layer_kinds import classify_group
from gradlint.loaders.torch.op_kinds import activation_of_op, is_transparent
from gradlint.loaders.torch.op_records import OpRecord, ProgramRecords
from gradlint.model import Layer, LayerGraph, LayerKind

_FOLLOW_LIMIT = 16


@dataclass(frozen=True)
class _Context:
    records: ProgramRecords
    flow: DataFlow
    consumers: dict[str, list[OpRecord]]
    layers: dict[str, Layer]


def build_layer_graph(records: ProgramRecords, input_names: Sequence[str] = ()) -> LayerGraph:
    """The LayerGraph of a program; `input_names` renames its user inputs, position by position."""
    inputs = _input_layers(records, input_names)
    flow = trace_data_flow(records, module_groups(records), inputs)
    consumers = _consumers(records)
    outputs = set(records.outputs)
    layers = {
        name: classify_group(group, records)
        for name, group in flow.groups.items()
    }
    layers = {
        name: replace(layer, output=_output_value(flow.groups[name], flow, consumers, outputs))
        for name, layer in layers.items()
    }
    context = _Context(records, flow, consumers, layers)
    layers = {name: _with_following(layer, context) for name, layer in layers.items()}
    output_layers, output_edges = _output_layers(records, flow, set(layers) | set(inputs.values()))
    return _assemble(inputs, {**layers, **output_layers}, flow.edges + output_edges)


def _input_layers(records: ProgramRecords, names: Sequence[str]) -> dict[str, str]:
    renamed = list(names) + list(records.inputs[len(names):])
    return dict(zip(records.inputs, renamed))


def _output_layers(
    records: ProgramRecords, flow: DataFlow, taken: set[str]
) -> tuple[dict[str, Layer], tuple[tuple[str, str], ...]]:
    """One OUTPUT layer per model output computed from some layer, as the ONNX loader has."""
    names = list(records.output_names) or [
        "output" if len(records.outputs) == 1 else str(i) for i in range(len(records.outputs))
    ]
    layers: dict[str, Layer] = {}
    edges: list[tuple[str, str]] = []
    for value, name in zip(records.outputs, names):
        sources = flow.producers.get(value, frozenset())
        if not sources:
            continue
        name = name if name not in taken else f"output:{name}"
        taken.add(name)
        layers[name] = Layer(name=name, kind=LayerKind.OUTPUT, output=value)
        edges += [(source, name) for source in sorted(sources)]
    return layers, tuple(edges)


def _consumers(records: ProgramRecords) -> dict[str, list[OpRecord]]:
    consumers: dict[str, list[OpRecord]] = {}
    for op in records.ops:
        for arg in dict.fromkeys(a for a in op.args if a is not None):
            consumers.setdefault(arg, []).append(op)
    return consumers


def _output_value(
    group: OpGroup, flow: DataFlow, consumers: dict[str, list[OpRecord]], outputs: set[str]
) -> str:
    """The last value the layer hands on: read outside the layer, or a model output."""
    for op in reversed(group.ops):
        for value in op.outputs:
            users = consumers.get(value, [])
            if value in outputs or any(flow.membership.get(u.name) != group.name for u in users):
                return value
    return group.ops[-1].outputs[0]


def _with_following(layer: Layer, context: _Context) -> Layer:
    """Record on a weight layer the normalization and activation applied to its output."""
    if layer.kind not in (LayerKind.LINEAR, LayerKind.CONV) or layer.activation is not None:
        return layer
    normalization, activation = None, None
    value = layer.output
    for _ in range(_FOLLOW_LIMIT):
        step = _next_step(value, layer.name, context)
        if isinstance(step, Layer) and step.kind == LayerKind.NORM and normalization is None:
            normalization, value = step.normalization, step.output
        elif isinstance(step, Layer):
            activation = step.activation if step.kind == LayerKind.OTHER else None
            break
        elif step is not None and activation_of_op(step.op):
            activation = activation_of_op(step.op)
            break
        elif step is not None and is_transparent(step.op):
            value = step.outputs[0]
        else:
            break
    return replace(layer, normalization=normalization or layer.normalization, activation=activation)


def _next_step(value: str, current: str, context: _Context) -> Layer | OpRecord | None:
    """The one layer or glue op that reads `value`; None when it branches or ends."""
    users = context.consumers.get(value, [])
    targets = {context.flow.membership.get(user.name, user.name) for user in users}
    if len(targets) != 1:
        return None
    target = targets.pop()
    if target == current:
        return None
    if target in context.layers:
        return context.layers[target]
    return users[0]


def _assemble(
    inputs: dict[str, str], layers: dict[str, Layer], edges: tuple[tuple[str, str], ...]
) -> LayerGraph:
    graph = LayerGraph()
    for value, name in inputs.items():
        graph.add_layer(Layer(name=name, kind=LayerKind.INPUT, output=value))
    for layer in layers.values():
        graph.add_layer(layer)
    position = {name: index for index, name in enumerate(graph.graph.nodes)}
    for source, target in edges:
        # Layers are in order of first op, so only a backward edge can close a cycle: one
        # from a module whose separate calls were not told apart (TorchScript).
        backward = position[source] > position[target]
        if not (backward and nx.has_path(graph.graph, target, source)):
            graph.add_edge(source, target)
    return _with_depths(graph)


def _with_depths(graph: LayerGraph) -> LayerGraph:
    """depth = layers on the longest path from an input, as the ONNX loader counts it."""
    depth: dict[str, int] = {}
    for layer in graph.layers():
        depth[layer.name] = max((depth[p] + 1 for p in graph.predecessors(layer.name)), default=0)
        graph.graph.nodes[layer.name]["layer"] = replace(layer, depth=depth[layer.name])
    return graph
