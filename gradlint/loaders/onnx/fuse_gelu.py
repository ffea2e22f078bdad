"""GELU spelled out in elementwise ops, run as one torch GELU.

Exporters spell GELU out: GPT-2's tanh form is 8 nodes (0.5 x (1 + tanh(sqrt(2/pi) (x +
0.044715 x^3)))), BERT's and ViT's erf form 5. Executed node by node, every one of them keeps
an output of the MLP's hidden size for the backward pass and makes a pass over it: on GPT-2
small at 8x128 tokens that is 8 tensors of 12.6 MB per block, about a gigabyte in all, and a
quarter of the probe's forward and backward time went to these elementwise ops. One
`torch.nn.functional.gelu` keeps its input only and differentiates twice and in forward mode,
as the Jacobian probes need.

Matching is by evaluation, not by spelling. A candidate region is a set of elementwise nodes
(Mul, Add, Sub, Div, Pow, Tanh, Erf) around a Tanh or Erf whose operands are one activation
`x`, values computed inside the region, and scalar constants; only its last value may be read
outside it. Because every operand other than `x` is a scalar, the region is the same scalar
function at every element, so running it on a grid of x values decides: it is fused only
where it equals GELU (tanh or erf form) there to float32 rounding. A value that anything else
reads (another node, a subgraph, a graph output: parity localisation exposes every node's
output) keeps its region unfused, so each value that exists outside the region is still
computed.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import torch

from gradlint.loaders.onnx.compiled_node import CompiledNode, reads

_ELEMENTWISE = frozenset({"Mul", "Add", "Sub", "Div", "Pow", "Tanh", "Erf"})
_SEEDS = frozenset({"Tanh", "Erf"})
_REACH = 6  # nodes walked from the Tanh/Erf towards x, and towards the result
_GRID = torch.linspace(-8.0, 8.0, 641, dtype=torch.float64)
_MATCH = 2e-6  # float32 constants (0.044715, sqrt(2/pi)) move the result by about 1e-7


@dataclass(frozen=True)
class _Graph:
    producer: dict[str, int]
    consumers: dict[str, set[int]]
    scalars: dict[str, float]
    outputs: frozenset[str]


def fuse_gelu(
    nodes: Sequence[CompiledNode], initializers: Mapping[str, torch.Tensor], outputs: Sequence[str]
) -> list[CompiledNode]:
    """`nodes` with every spelled-out GELU replaced by one node named after its last node."""
    graph = _index(nodes, initializers, outputs)
    fused: dict[int, CompiledNode] = {}
    removed: set[int] = set()
    for position, node in enumerate(nodes):
        if node.op_type in _SEEDS and position not in removed:
            found = _match(nodes, graph, position)
            if found is not None and not (found[0] & removed):
                region, last, x, approximate = found
                removed |= region
                fused[last] = _gelu_node(nodes[last], x, approximate)
    return [fused.get(i, node) for i, node in enumerate(nodes) if i not in removed or i in fused]


def _index(
    nodes: Sequence[CompiledNode], initializers: Mapping[str, torch.Tensor], outputs: Sequence[str]
) -> _Graph:
    producer = {out: i for i, node in enumerate(nodes) for out in node.outputs if out}
    consumers: dict[str, set[int]] = {}
    for i, node in enumerate(nodes):
        for name in reads(node):
            consumers.setdefault(name, set()).add(i)
    scalars = {name: float(t) for name, t in initializers.items() if _is_scalar(t)}
    for node in nodes:
        value = node.attrs.get("value") if node.op_type == "Constant" else None
        if isinstance(value, torch.Tensor) and _is_scalar(value) and node.outputs:
            scalars[node.outputs[0]] = float(value)
    return _Graph(producer, consumers, scalars, frozenset(outputs))


def _is_scalar(tensor: torch.Tensor) -> bool:
    return tensor.is_floating_point() and tensor.numel() == 1


def _match(
    nodes: Sequence[CompiledNode], graph: _Graph, seed: int
) -> tuple[frozenset[int], int, str, str] | None:
    """(region, position of its last node, x, 'tanh' | 'none') for the GELU around `seed`."""
    upstream = _walk_up(nodes, graph, seed)
    for x in _activation_inputs(nodes, graph, upstream):
        for last in _walk_down(nodes, graph, seed):
            region = _between(nodes, graph, x, last)
            if seed not in region or not _closed(nodes, graph, region, x, last):
                continue
            approximate = _evaluates_to_gelu(nodes, graph, region, x, last)
            if approximate is not None:
                return frozenset(region), last, x, approximate
    return None


def _walk_up(nodes: Sequence[CompiledNode], graph: _Graph, seed: int) -> list[int]:
    """Elementwise ancestors of the seed (itself included), nearest first."""
    found, frontier = [seed], [seed]
    for _ in range(_REACH):
        frontier = [
            graph.producer[name] for i in frontier for name in nodes[i].inputs
            if name in graph.producer and name not in graph.scalars
            and nodes[graph.producer[name]].op_type in _ELEMENTWISE
        ]
        found += [i for i in frontier if i not in found]
    return found


def _activation_inputs(nodes: Sequence[CompiledNode], graph: _Graph, upstream: list[int]) -> list[str]:
    """Every non-constant value the upstream nodes read: the candidates for x."""
    names: list[str] = []
    for i in upstream:
        names += [n for n in nodes[i].inputs if n and n not in graph.scalars and n not in names]
    return names


def _walk_down(nodes: Sequence[CompiledNode], graph: _Graph, seed: int) -> list[int]:
    """The seed and its elementwise descendants within reach, nearest first."""
    found, frontier = [seed], [seed]
    for _ in range(_REACH):
        frontier = [
            j for i in frontier for out in nodes[i].outputs
            for j in sorted(graph.consumers.get(out, ())) if nodes[j].op_type in _ELEMENTWISE
        ]
        found += [j for j in frontier if j not in found]
    return found


def _between(nodes: Sequence[CompiledNode], graph: _Graph, x: str, last: int) -> set[int]:
    """Elementwise nodes that read x (directly or through each other) and that `last` needs."""
    needed, stack = set(), [last]
    while stack and len(needed) <= 4 * _REACH:
        i = stack.pop()
        if i in needed or nodes[i].op_type not in _ELEMENTWISE:
            continue
        needed.add(i)
        stack += [graph.producer[n] for n in nodes[i].inputs if n in graph.producer and n != x]
    return needed


def _closed(nodes: Sequence[CompiledNode], graph: _Graph, region: set[int], x: str, last: int) -> bool:
    """Operands are x, region values or scalars; only `last`'s output is read outside."""
    inside = {out for i in region for out in nodes[i].outputs}
    for i in region:
        node = nodes[i]
        if node.subgraphs or len(node.outputs) != 1:
            return False
        if any(n not in inside and n != x and n not in graph.scalars for n in node.inputs):
            return False
        if i != last and (node.outputs[0] in graph.outputs or graph.consumers.get(node.outputs[0], set()) - region):
            return False
    return any(x in nodes[i].inputs for i in region)


def _evaluates_to_gelu(
    nodes: Sequence[CompiledNode], graph: _Graph, region: set[int], x: str, last: int
) -> str | None:
    values = {x: _GRID}
    for i in sorted(region, key=lambda j: _depth(nodes, graph, region, j)):
        node = nodes[i]
        operands = [values[n] if n in values else torch.tensor(graph.scalars[n], dtype=torch.float64) for n in node.inputs]
        values[node.outputs[0]] = _apply(node.op_type, operands)
    result = values[nodes[last].outputs[0]]
    for approximate in ("tanh", "none"):
        expected = torch.nn.functional.gelu(_GRID, approximate=approximate)
        if result.shape == expected.shape and bool(((result - expected).abs() <= _MATCH * expected.abs().clamp_min(1)).all()):
            return approximate
    return None


def _depth(nodes: Sequence[CompiledNode], graph: _Graph, region: set[int], i: int) -> int:
    parents = [graph.producer[n] for n in nodes[i].inputs if graph.producer.get(n) in region]
    return 1 + max((_depth(nodes, graph, region, p) for p in parents), default=0)


def _apply(op_type: str, operands: list[torch.Tensor]) -> torch.Tensor:
    if op_type == "Tanh":
        return torch.tanh(operands[0])
    if op_type == "Erf":
        return torch.erf(operands[0])
    a, b = operands
    return {"Mul": torch.mul, "Add": torch.add, "Sub": torch.sub, "Div": torch.div, "Pow": torch.pow}[op_type](a, b)


def _gelu_node(last: CompiledNode, x: str, approximate: str) -> CompiledNode:
    def gelu(ctx, inputs, attrs):  # an OpFunction
        return torch.nn.functional.gelu(inputs[0], approximate=approximate)

    return CompiledNode(
        last.name, last.op_type, last.domain, last.opset, gelu, (x,), last.outputs,
        {"fused": f"gelu({approximate})"},
    )

