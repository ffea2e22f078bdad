"""Cut non-differentiable post-processing off the end of a graph.

Classifiers exported from CoreML or scikit-learn end in `ai.onnx.ml` ops (ZipMap,
ArrayFeatureExtractor, LabelEncoder...) fed by an ArgMax: label lookups nobody backpropagates
through. They are removed when nothing differentiable lies downstream of them, and the float
tensors they consumed become the graph outputs, which is what training would use.
"""
from __future__ import annotations

from typing import Iterable

import onnx
from onnx import TensorProto

from gradlint.loaders.onnx.normalize import walk_graphs
from gradlint.model import Diagnostic

ML_DOMAIN = "ai.onnx.ml"
# Ops that may sit between a post-processing op and an output, or feed one, without making
# the cut lose anything a gradient would flow through.
_TAIL_SAFE = frozenset(
    {"ArgMax", "ArgMin", "Identity", "Cast", "Reshape", "Squeeze", "Unsqueeze", "Flatten",
     "Constant", "Gather", "Concat", "TopK", "Shape", "Size"}
)
_FLOAT_TYPES = frozenset(
    {TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.FLOAT16, TensorProto.BFLOAT16}
)


def cut_postprocessing(model: onnx.ModelProto) -> tuple[Diagnostic, ...]:
    """Remove the trailing post-processing from `model` in place; say what was cut."""
    graph = model.graph
    nodes = list(graph.node)
    cut = _tail_region(nodes)
    if not cut:
        return ()
    new_outputs = _boundary_float_inputs(nodes, cut, _elem_types(model))
    if not new_outputs:
        return ()
    _apply_cut(model, cut, new_outputs)
    removed = [nodes[i] for i in sorted(cut)]
    return (_diagnostic(removed, [name for name, _ in new_outputs]),)


def _tail_region(nodes: list[onnx.NodeProto]) -> set[int]:
    """Indices of ML nodes with only tail-safe ops downstream, plus what feeds only them."""
    consumers = _consumers(nodes)
    cut: set[int] = set()
    for index, node in enumerate(nodes):
        if node.domain != ML_DOMAIN or index in cut:
            continue
        downstream = _descendants(index, nodes, consumers)
        if all(nodes[i].domain == ML_DOMAIN or nodes[i].op_type in _TAIL_SAFE for i in downstream):
            cut |= downstream | {index}
    return cut | _feeders(nodes, cut, consumers) if cut else cut


def _consumers(nodes: list[onnx.NodeProto]) -> dict[str, list[int]]:
    consumers: dict[str, list[int]] = {}
    for index, node in enumerate(nodes):
        for name in node.input:
            consumers.setdefault(name, []).append(index)
    return consumers


def _descendants(start: int, nodes: list[onnx.NodeProto], consumers: dict[str, list[int]]) -> set[int]:
    found: set[int] = set()
    stack = [start]
    while stack:
        for name in nodes[stack.pop()].output:
            for index in consumers.get(name, ()):
                if index not in found:
                    found.add(index)
                    stack.append(index)
    return found


def _feeders(nodes: list[onnx.NodeProto], cut: set[int], consumers: dict[str, list[int]]) -> set[int]:
    """Tail-safe nodes (ArgMax, label Constants) whose outputs only the cut region reads."""
    extra: set[int] = set()
    changed = True
    while changed:
        changed = False
        for index, node in enumerate(nodes):
            if index in cut or index in extra or node.op_type not in _TAIL_SAFE:
                continue
            readers = [i for name in node.output for i in consumers.get(name, ())]
            if readers and all(i in cut or i in extra for i in readers):
                extra.add(index)
                changed = True
    return extra


def _elem_types(model: onnx.ModelProto) -> dict[str, int]:
    graph = model.graph
    types = {v.name: v.type.tensor_type.elem_type for v in (*graph.input, *graph.value_info, *graph.output)}
    types.update({t.name: t.data_type for t in graph.initializer})
    return types


def _boundary_float_inputs(
    nodes: list[onnx.NodeProto], cut: set[int], types: dict[str, int]
) -> list[tuple[str, int]]:
    """Float values produced outside the cut and read inside it: the new outputs."""
    produced_inside = {name for i in cut for name in nodes[i].output}
    constants = {name for node in nodes if node.op_type == "Constant" for name in node.output}
    found: dict[str, int] = {}
    for index in sorted(cut):
        for name in nodes[index].input:
            if not name or name in produced_inside or name in constants:
                continue
            if types.get(name, TensorProto.FLOAT) in _FLOAT_TYPES:
                found.setdefault(name, types.get(name, TensorProto.FLOAT))
    return list(found.items())


def _apply_cut(model: onnx.ModelProto, cut: set[int], new_outputs: list[tuple[str, int]]) -> None:
    graph = model.graph
    kept_nodes = [node for i, node in enumerate(graph.node) if i not in cut]
    removed_values = {name for i, node in enumerate(graph.node) if i in cut for name in node.output}
    kept_outputs = [out for out in graph.output if out.name not in removed_values]
    shapes = {v.name: v for v in graph.value_info}
    del graph.node[:]
    graph.node.extend(kept_nodes)
    del graph.output[:]
    graph.output.extend(kept_outputs)
    present = {out.name for out in kept_outputs}
    for name, elem_type in new_outputs:
        if name not in present:
            graph.output.append(shapes.get(name) or onnx.helper.make_tensor_value_info(name, elem_type, None))
    _drop_unused_initializers(graph, kept_nodes)


def _drop_unused_initializers(graph: onnx.GraphProto, nodes: Iterable[onnx.NodeProto]) -> None:
    used = {o.name for o in graph.output}
    for node in nodes:
        used.update(node.input)
        for attribute in node.attribute:
            for subgraph in [attribute.g] if attribute.HasField("g") else list(attribute.graphs):
                used.update(name for g, _ in walk_graphs(subgraph) for n in g.node for name in n.input)
    kept = [t for t in graph.initializer if t.name in used]
    if len(kept) != len(graph.initializer):
        del graph.initializer[:]
        graph.initializer.extend(kept)


def _diagnostic(removed: list[onnx.NodeProto], outputs: list[str]) -> Diagnostic:
    ops = list(dict.fromkeys(node.op_type for node in removed if node.op_type != "Constant"))
    quoted = ", ".join(repr(name) for name in outputs)
    first = next((n for n in removed if n.domain == ML_DOMAIN), removed[0])
    return Diagnostic(
        kind="postprocessing-cut",
        message=f"cut post-processing {', '.join(ops)}; analysing {quoted}",
        node=first.name,
        op_type=first.op_type,
        details={"removed_nodes": [n.name for n in removed], "outputs": outputs},
    )
