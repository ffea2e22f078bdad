"""Values of constant tensors, including ones computed in the graph.

Weights are not always initializers: old exporters build them with ConstantOfShape, silero
slices and concatenates its LSTM gates from Constant nodes, keras2onnx transposes them. The
constant subgraph that produces the requested values is cut out and evaluated once with onnx's
reference evaluator (pure numpy, no code from the file runs).
"""
from __future__ import annotations

from typing import Iterable

import numpy as np
import onnx
from onnx import helper, numpy_helper

from gradlint.loaders.onnx.graph_index import GraphIndex


def constant_values(index: GraphIndex, names: Iterable[str]) -> dict[str, np.ndarray]:
    """The values of the given constant tensors; names that cannot be evaluated are left out."""
    wanted = [name for name in dict.fromkeys(names) if name in index.constants]
    values: dict[str, np.ndarray] = {}
    computed: list[str] = []
    for name in wanted:
        tensor = index.initializers.get(name)
        if tensor is not None:
            values[name] = _to_array(tensor)
        else:
            computed.append(name)
    if computed:
        values.update(_evaluate(index, computed))
    return values


def _to_array(tensor: onnx.TensorProto) -> np.ndarray:
    return numpy_helper.to_array(tensor)


def _evaluate(index: GraphIndex, names: list[str]) -> dict[str, np.ndarray]:
    nodes = _ancestor_nodes(index, names)
    try:
        return _run(index, nodes, names)
    except Exception:  # one bad value must not cost the others: retry one by one
        values: dict[str, np.ndarray] = {}
        for name in names:
            try:
                values.update(_run(index, _ancestor_nodes(index, [name]), [name]))
            except Exception:
                continue
        return values


def _ancestor_nodes(index: GraphIndex, names: list[str]) -> list[int]:
    needed: set[int] = set()
    stack = list(names)
    while stack:
        position = index.producer.get(stack.pop())
        if position is None or position in needed:
            continue
        needed.add(position)
        stack.extend(index.node_inputs[position])
    return sorted(needed)


def _run(index: GraphIndex, positions: list[int], names: list[str]) -> dict[str, np.ndarray]:
    from onnx.reference import ReferenceEvaluator

    nodes = [index.nodes[i] for i in positions]
    read = {name for i in positions for name in index.node_inputs[i]}
    # Initializers go in as fed inputs, not as graph initializers: copying a weight into the
    # graph (GPT-2's 154 MB tied LM head, transposed here) cost a second of protobuf copying
    # before the evaluator converted it to numpy anyway, as `_to_array` does.
    initializers = [tensor for name, tensor in index.initializers.items() if name in read]
    inputs = [helper.make_tensor_value_info(t.name, t.data_type, t.dims) for t in initializers]
    outputs = [helper.make_empty_tensor_value_info(name) for name in names]
    graph = helper.make_graph(nodes, "constants", inputs, outputs)
    model = helper.make_model(graph, opset_imports=list(index.model.opset_import))
    model.ir_version = index.model.ir_version
    feeds = {tensor.name: _to_array(tensor) for tensor in initializers}
    results = ReferenceEvaluator(model).run(None, feeds)
    return {name: np.asarray(value) for name, value in zip(names, results)}
