"""An index over the top graph of a model: order, producers, consumers, dtypes, constness.

Exporters do not always emit nodes in topological order, and nodes with subgraphs (If, Loop)
read outer values without listing them as inputs; both are handled here once so that input
resolution and layer building can walk the graph naively.
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from functools import cached_property

import onnx
from onnx import TensorProto

from gradlint.loaders.onnx.normalize import real_input_names, walk_graphs

FLOAT_TYPES = frozenset(
    {TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.FLOAT16, TensorProto.BFLOAT16}
)
_INT_OUTPUT_OPS = frozenset({"Shape", "Size", "NonZero", "ArgMax", "ArgMin", "NonMaxSuppression"})
_BOOL_OUTPUT_OPS = frozenset(
    {"Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "Not", "And", "Or", "Xor",
     "IsNaN", "IsInf"}
)
# Outputs depend on the input's shape only, not its values.
SHAPE_ONLY_OPS = frozenset({"Shape", "Size"})
_RANDOM_OPS = frozenset({"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike",
                         "Multinomial", "Bernoulli"})


@dataclass
class GraphIndex:
    model: onnx.ModelProto
    nodes: list[onnx.NodeProto] = field(init=False)
    producer: dict[str, int] = field(init=False)
    consumers: dict[str, list[int]] = field(init=False)
    node_inputs: list[tuple[str, ...]] = field(init=False)

    def __post_init__(self) -> None:
        graph = self.model.graph
        raw = list(graph.node)
        reads = [_all_inputs(node) for node in raw]
        order = _topological_order(raw, reads)
        self.nodes = [raw[i] for i in order]
        self.node_inputs = [reads[i] for i in order]
        self.producer = {name: i for i, node in enumerate(self.nodes) for name in node.output if name}
        self.consumers = {}
        for index, names in enumerate(self.node_inputs):
            for name in dict.fromkeys(names):
                self.consumers.setdefault(name, []).append(index)

    @cached_property
    def input_names(self) -> tuple[str, ...]:
        return real_input_names(self.model)

    @cached_property
    def output_names(self) -> tuple[str, ...]:
        return tuple(value.name for value in self.model.graph.output)

    @cached_property
    def initializers(self) -> dict[str, onnx.TensorProto]:
        return {tensor.name: tensor for tensor in self.model.graph.initializer}

    @cached_property
    def value_infos(self) -> dict[str, onnx.ValueInfoProto]:
        graph = self.model.graph
        return {v.name: v for v in (*graph.value_info, *graph.output, *graph.input)}

    @cached_property
    def constants(self) -> frozenset[str]:
        """Values computed from initializers and Constant nodes alone."""
        known = set(self.initializers)
        for node, reads in zip(self.nodes, self.node_inputs):
            if node.op_type in _RANDOM_OPS:
                continue
            if all(not name or name in known for name in reads):
                known.update(name for name in node.output if name)
        return frozenset(known)

    @cached_property
    def data_dependent(self) -> frozenset[str]:
        """Values that depend on the values (not just the shapes) of some real input."""
        dependent = set(self.input_names)
        for node, reads in zip(self.nodes, self.node_inputs):
            if node.op_type in SHAPE_ONLY_OPS:
                continue
            if any(name in dependent for name in reads):
                dependent.update(name for name in node.output if name)
        return frozenset(dependent)

    @cached_property
    def dtypes(self) -> dict[str, int]:
        """ONNX element type per value: from value_info, else propagated by simple op rules."""
        types: dict[str, int] = {name: t.data_type for name, t in self.initializers.items()}
        for name, info in self.value_infos.items():
            elem = info.type.tensor_type.elem_type
            if elem:
                types[name] = elem
        for node in self.nodes:
            for position, name in enumerate(node.output):
                if name and name not in types:
                    guessed = _guess_dtype(node, position, types)
                    if guessed:
                        types[name] = guessed
        return types

    def is_float(self, name: str) -> bool:
        return self.dtypes.get(name) in FLOAT_TYPES

    def shape(self, name: str) -> tuple[int | str | None, ...] | None:
        """Static dims of `name` (ints, symbolic names, None for unknown); None if no shape."""
        info = self.value_infos.get(name)
        if info is None or not info.type.tensor_type.HasField("shape"):
            tensor = self.initializers.get(name)
            return tuple(tensor.dims) if tensor is not None else None
        return tuple(_dim(d) for d in info.type.tensor_type.shape.dim)

    def consumers_of(self, name: str) -> list[onnx.NodeProto]:
        return [self.nodes[i] for i in self.consumers.get(name, ())]

    def producer_of(self, name: str) -> onnx.NodeProto | None:
        index = self.producer.get(name)
        return None if index is None else self.nodes[index]


def _dim(dim: onnx.TensorShapeProto.Dimension) -> int | str | None:
    if dim.HasField("dim_value"):
        return dim.dim_value
    if dim.HasField("dim_param"):
        return dim.dim_param
    return None


def _all_inputs(node: onnx.NodeProto) -> tuple[str, ...]:
    """Explicit inputs plus the outer-scope values the node's subgraphs read."""
    names = [name for name in node.input if name]
    for attribute in node.attribute:
        for subgraph in [attribute.g] if attribute.HasField("g") else list(attribute.graphs):
            names.extend(_outer_reads(subgraph))
    return tuple(dict.fromkeys(names))


def _outer_reads(graph: onnx.GraphProto) -> list[str]:
    defined: set[str] = set()
    read: list[str] = []
    for g, _ in walk_graphs(graph):
        defined.update(v.name for v in g.input)
        defined.update(t.name for t in g.initializer)
        for node in g.node:
            defined.update(node.output)
    for g, _ in walk_graphs(graph):
        for node in g.node:
            read.extend(name for name in node.input if name and name not in defined)
    return read


def _topological_order(nodes: list[onnx.NodeProto], reads: list[tuple[str, ...]]) -> list[int]:
    """Kahn's algorithm preferring file order; nodes in a cycle keep their file position."""
    producer = {name: i for i, node in enumerate(nodes) for name in node.output if name}
    waiting = [0] * len(nodes)
    dependents: dict[int, list[int]] = {}
    for index, names in enumerate(reads):
        sources = {producer[name] for name in names if name in producer and producer[name] != index}
        waiting[index] = len(sources)
        for source in sources:
            dependents.setdefault(source, []).append(index)
    ready = [i for i, count in enumerate(waiting) if count == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        index = heapq.heappop(ready)
        order.append(index)
        for dependent in dependents.get(index, ()):
            waiting[dependent] -= 1
            if waiting[dependent] == 0:
                heapq.heappush(ready, dependent)
    placed = set(order)
    return order + [i for i in range(len(nodes)) if i not in placed]


def _guess_dtype(node: onnx.NodeProto, position: int, types: dict[str, int]) -> int | None:
    op = node.op_type
    if op == "Cast":
        return next((a.i for a in node.attribute if a.name == "to"), None)
    if op in _INT_OUTPUT_OPS or (op == "TopK" and position == 1):
        return TensorProto.INT64
    if op in _BOOL_OUTPUT_OPS:
        return TensorProto.BOOL
    if op == "Constant":
        attribute = next((a for a in node.attribute if a.name in ("value", "value_float",
                                                                   "value_floats")), None)
        if attribute is None:
            return TensorProto.INT64
        return attribute.t.data_type if attribute.name == "value" else TensorProto.FLOAT
    if op == "ConstantOfShape":
        attribute = next((a for a in node.attribute if a.name == "value"), None)
        return attribute.t.data_type if attribute is not None else TensorProto.FLOAT
    if op in ("Where",):
        return types.get(node.input[1]) if len(node.input) > 1 else None
    if op in ("Gather", "GatherElements", "GatherND"):
        return types.get(node.input[0]) if node.input else None
    return next((types[name] for name in node.input if name in types), None)
