"""Refuse nodes with fewer or more inputs/outputs than their standard op allows, or non-text names.

Graph building reads `node.input[0]` of known ops; a file with a zero-input ReduceMean made
that an IndexError (found by fuzzing). Unknown ops and custom domains are left to the
executor, which reports them as unsupported.
"""
from __future__ import annotations

import onnx
import onnx.defs

from gradlint.errors import ModelLoadError

_STANDARD_DOMAINS = ("", "ai.onnx")


def check_node_arity(model: onnx.ModelProto) -> None:
    check_names_are_text(model)
    opset = max((o.version for o in model.opset_import if o.domain in _STANDARD_DOMAINS), default=1)
    for graph in _graphs(model.graph):
        for node in graph.node:
            problem = _arity_problem(node, max(opset, 1))
            if problem:
                name = node.name or node.op_type
                raise ModelLoadError(f"malformed ONNX node {name!r} ({node.op_type}): {problem}")


def check_names_are_text(model: onnx.ModelProto) -> None:
    """A corrupt file can hold names that are not UTF-8; protobuf then hands out bytes."""
    for graph in _graphs(model.graph):
        values = (*graph.input, *graph.output, *graph.value_info, *graph.initializer)
        names = [value.name for value in values]
        for node in graph.node:
            names += [node.name, node.op_type, node.domain, *node.input, *node.output]
            names += [attribute.name for attribute in node.attribute]
        if any(not isinstance(name, str) for name in names):
            raise ModelLoadError("not an ONNX model: a name is not valid UTF-8 (the file is corrupt)")


def _arity_problem(node: onnx.NodeProto, opset: int) -> str | None:
    if node.domain not in _STANDARD_DOMAINS:
        return None
    try:
        schema = onnx.defs.get_schema(node.op_type, opset, "")
    except Exception:  # unknown op or not in this opset: the executor says so
        return None
    inputs, outputs = len(node.input), len(node.output)
    if inputs < schema.min_input:
        return f"{inputs} inputs, the op needs at least {schema.min_input}"
    if inputs > schema.max_input:
        return f"{inputs} inputs, the op takes at most {schema.max_input}"
    if outputs < schema.min_output or outputs > schema.max_output:
        return f"{outputs} outputs, the op makes {schema.min_output} to {schema.max_output}"
    return None


def _graphs(graph: onnx.GraphProto):
    yield graph
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.HasField("g"):
                yield from _graphs(attribute.g)
            for subgraph in attribute.graphs:
                yield from _graphs(subgraph)
