"""An ONNX graph compiled for execution: nodes in topological order bound to their ops.

Compiling walks the graph and every subgraph once: attributes are parsed (tensors become
torch tensors, GRAPH attributes become nested `Program`s), each node is bound to its op
function from the registry, unnamed nodes get deterministic names, and nodes are sorted
topologically (exporters do not always emit them in order). Nodes whose op gradlint lacks are
collected as `Diagnostic`s instead of raising, so the caller can report all of them at once.
"""
from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Any, Iterator

import onnx
import torch
from onnx import AttributeProto

from gradlint.errors import ModelLoadError
from gradlint.loaders.onnx.batch_reshapes import (
    BATCH_FOLLOWING_TARGET,
    batch_following_targets,
    repeated_along_batch,
    static_batch,
)
from gradlint.loaders.onnx.compiled_node import CompiledNode, reads
from gradlint.loaders.onnx.fuse_gelu import fuse_gelu
from gradlint.loaders.onnx.ops import lookup
from gradlint.loaders.onnx.ops.dtypes import tensor_from_proto
from gradlint.model import Diagnostic

# Ops whose output is not a function of their inputs: never treated as constants.
_NONDETERMINISTIC = frozenset(
    {"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial",
     "Bernoulli"}
)


@dataclass
class Program:
    """One graph scope. `outer_refs` are the names it reads from enclosing scopes."""

    nodes: list[CompiledNode]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    initializers: dict[str, torch.Tensor]
    outer_refs: frozenset[str] = frozenset()
    static_batch: int | None = None  # the main graph's fixed batch (batch_reshapes.py)
    batch_constants: frozenset[str] = frozenset()  # initializers repeated along that batch

    def walk(self) -> Iterator[CompiledNode]:
        """Every node of this scope and of all nested scopes, in execution order."""
        for node in self.nodes:
            yield node
            for sub in node.subgraphs:
                yield from sub.walk()

    def walk_programs(self) -> Iterator["Program"]:
        yield self
        for node in self.nodes:
            for sub in node.subgraphs:
                yield from sub.walk_programs()


@dataclass
class Compiler:
    """Compiles a model's graphs; `diagnostics` collects the nodes with unsupported ops."""

    opsets: dict[str, int]
    float_dtype: torch.dtype = torch.float32
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def compile(self, graph: onnx.GraphProto, scope: str = "") -> Program:
        initializers = {t.name: tensor_from_proto(t, self.float_dtype) for t in graph.initializer}
        inputs = tuple(value.name for value in graph.input)
        nodes = [self._node(node, index, scope) for index, node in enumerate(graph.node)]
        batch = static_batch(graph) if not scope else None  # the main graph's inputs carry it
        if batch is not None:
            for index, target in batch_following_targets(graph).items():
                nodes[index].attrs[BATCH_FOLLOWING_TARGET] = target
        outputs = tuple(value.name for value in graph.output)
        nodes = fuse_gelu(nodes, initializers, outputs)
        known = set(inputs) | set(initializers)
        ordered, outer = _sort(nodes, known, outputs)
        if not scope and outer:
            missing = ", ".join(sorted(outer)[:5])
            raise ModelLoadError(f"ONNX graph reads values nothing produces: {missing}")
        repeated = repeated_along_batch(initializers, batch) if batch is not None else frozenset()
        return Program(ordered, inputs, outputs, initializers, frozenset(outer), batch, repeated)

    def _node(self, node: onnx.NodeProto, index: int, scope: str) -> CompiledNode:
        name = node.name or f"{scope}{node.op_type}_{index}"
        domain = "" if node.domain in ("", "ai.onnx") else node.domain
        fn = lookup(node.op_type, domain)
        if fn is None:
            self.diagnostics.append(_unsupported(node, name, domain))
        attrs: dict[str, Any] = {}
        subgraphs: list[Program] = []
        for attribute in node.attribute:
            value = self._attribute(attribute, f"{name}/{attribute.name}/")
            attrs[attribute.name] = value
            subgraphs.extend(v for v in _as_list(value) if isinstance(v, Program))
        opset = self.opsets.get(domain, 1)
        return CompiledNode(name, node.op_type, domain, opset, fn, tuple(node.input),
                            tuple(node.output), attrs, tuple(subgraphs))

    def _attribute(self, attribute: AttributeProto, scope: str) -> Any:
        if attribute.type == AttributeProto.GRAPH:
            return self.compile(attribute.g, scope)
        if attribute.type == AttributeProto.GRAPHS:
            return [self.compile(g, f"{scope}{i}/") for i, g in enumerate(attribute.graphs)]
        if attribute.type == AttributeProto.TENSOR:
            return tensor_from_proto(attribute.t, self.float_dtype)
        if attribute.type == AttributeProto.TENSORS:
            return [tensor_from_proto(t, self.float_dtype) for t in attribute.tensors]
        value = onnx.helper.get_attribute_value(attribute)
        if isinstance(value, bytes):
            return value.decode("utf-8", errors="replace")
        if isinstance(value, list) and value and isinstance(value[0], bytes):
            return [v.decode("utf-8", errors="replace") for v in value]
        return value


def _unsupported(node: onnx.NodeProto, name: str, domain: str) -> Diagnostic:
    qualified = f"{domain}::{node.op_type}" if domain else node.op_type
    return Diagnostic(
        kind="unsupported-op",
        message=f"gradlint cannot execute ONNX op {qualified} (node {name})",
        node=name,
        op_type=node.op_type,
        details={"domain": domain},
    )


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _sort(
    nodes: list[CompiledNode], known: set[str], outputs: tuple[str, ...]
) -> tuple[list[CompiledNode], set[str]]:
    """Nodes in topological order (ties keep file order) and the names read from outside."""
    producer = {out: i for i, node in enumerate(nodes) for out in node.outputs if out}
    read_sets = [reads(node) for node in nodes]
    waiting = [0] * len(nodes)
    users: dict[int, list[int]] = {}
    outer: set[str] = set()
    for i, names in enumerate(read_sets):
        sources = {producer[n] for n in names if n in producer and producer[n] != i}
        outer |= {n for n in names if n not in producer and n not in known}
        waiting[i] = len(sources)
        for source in sources:
            users.setdefault(source, []).append(i)
    outer |= {n for n in outputs if n and n not in producer and n not in known}
    ready = [i for i, count in enumerate(waiting) if count == 0]
    heapq.heapify(ready)
    ordered: list[CompiledNode] = []
    while ready:
        i = heapq.heappop(ready)
        ordered.append(nodes[i])
        for user in users.get(i, []):
            waiting[user] -= 1
            if waiting[user] == 0:
                heapq.heappush(ready, user)
    if len(ordered) != len(nodes):
        stuck = next(n.name for i, n in enumerate(nodes) if waiting[i] > 0)
        raise ModelLoadError(f"ONNX graph has a cycle through node {stuck}")
    return ordered, outer


def constant_values(program: Program, outer_constants: frozenset[str] = frozenset()) -> set[str]:
    """Values (in this scope and nested ones) that depend on no graph input."""
    constants = set(outer_constants) | set(program.initializers)
    for node in program.nodes:
        nested = set()
        for sub in node.subgraphs:
            nested |= constant_values(sub, frozenset(constants))
        reads_constant = all(n in constants for n in reads(node))
        if reads_constant and node.op_type not in _NONDETERMINISTIC:
            constants.update(n for n in node.outputs if n)
        constants |= nested
    return constants
