"""Put a freshly parsed ONNX model into the shape the rest of gradlint expects.

- local functions are inlined, so every op is a plain node;
- every node has a unique, deterministic name (exporters leave names empty or repeat them),
  which layers, taps and findings refer to;
- initializers are no longer listed among the graph inputs (IR < 4 required that; it made
  every weight look like a user input), so `graph.input` holds exactly the real inputs;
- value_info is filled by shape inference where onnx can infer it (failures are tolerated);
- an opset outside the tested range is a Diagnostic, not a refusal.
"""
from __future__ import annotations

from typing import Iterator

import onnx

from gradlint.loaders.onnx.light_copy import light_copy, replace_fields
from gradlint.model import Diagnostic

MIN_OPSET = 7
MAX_OPSET = 21
# IR 4 made initializers independent of graph inputs; models are raised to it when the
# initializers are taken out of `graph.input`.
_IR_WITHOUT_INITIALIZER_INPUTS = 4


def normalize(model: onnx.ModelProto) -> tuple[onnx.ModelProto, tuple[Diagnostic, ...]]:
    model = inline_functions(model)
    name_nodes(model.graph)
    drop_initializer_inputs(model)
    model = infer_shapes(model)
    return model, opset_diagnostics(model)


def inline_functions(model: onnx.ModelProto) -> onnx.ModelProto:
    if not model.functions:
        return model
    try:
        import onnx.inliner

        return onnx.inliner.inline_local_functions(model)
    except Exception:  # the executor then reports the function ops as unsupported
        return model


def default_opset(model: onnx.ModelProto) -> int | None:
    for entry in model.opset_import:
        if entry.domain in ("", "ai.onnx"):
            return entry.version
    return None


def opset_diagnostics(model: onnx.ModelProto) -> tuple[Diagnostic, ...]:
    version = default_opset(model)
    if version is None or MIN_OPSET <= version <= MAX_OPSET:
        return ()
    message = (
        f"opset {version} is outside the tested range {MIN_OPSET}..{MAX_OPSET}; "
        "analysing anyway"
    )
    return (Diagnostic(kind="opset-out-of-range", message=message, details={"opset": version}),)


def walk_graphs(graph: onnx.GraphProto, owner: str = "") -> Iterator[tuple[onnx.GraphProto, str]]:
    """`graph` and every nested subgraph, depth first, with the name of the owning node."""
    yield graph, owner
    for node in graph.node:
        for attribute in node.attribute:
            if attribute.HasField("g"):
                yield from walk_graphs(attribute.g, node.name)
            for subgraph in attribute.graphs:
                yield from walk_graphs(subgraph, node.name)


def name_nodes(graph: onnx.GraphProto) -> None:
    """Unnamed nodes become `{op_type}_{index}`; repeated names get `_1`, `_2`... suffixes.

    Names are unique across the whole model, subgraphs included, because inlining an `If`
    branch brings its nodes into the top graph. Subgraph nodes are named after their owner.
    """
    taken = {node.name for g, _ in walk_graphs(graph) for node in g.node if node.name}
    used: set[str] = set()
    for index, node in enumerate(graph.node):
        _rename(node, f"{node.op_type}_{index}", used, taken)
        for attribute in node.attribute:
            for subgraph in [attribute.g] if attribute.HasField("g") else list(attribute.graphs):
                _name_subgraph(subgraph, node.name, used, taken)


def _name_subgraph(graph: onnx.GraphProto, owner: str, used: set[str], taken: set[str]) -> None:
    for index, node in enumerate(graph.node):
        _rename(node, f"{owner}/{node.op_type}_{index}", used, taken)
        for attribute in node.attribute:
            for subgraph in [attribute.g] if attribute.HasField("g") else list(attribute.graphs):
                _name_subgraph(subgraph, node.name, used, taken)


def _rename(node: onnx.NodeProto, default: str, used: set[str], taken: set[str]) -> None:
    if node.name and node.name not in used:
        used.add(node.name)
        return
    base = node.name or default
    name, suffix = base, 0
    while name in used or (name != node.name and name in taken):
        suffix += 1
        name = f"{base}_{suffix}"
    node.name = name
    used.add(name)
    taken.add(name)


def real_input_names(model: onnx.ModelProto) -> tuple[str, ...]:
    """Graph inputs that are not initializers: what a caller must feed."""
    initializers = {tensor.name for tensor in model.graph.initializer}
    return tuple(value.name for value in model.graph.input if value.name not in initializers)


def drop_initializer_inputs(model: onnx.ModelProto) -> None:
    real = set(real_input_names(model))
    if len(real) == len(model.graph.input):
        return
    kept = [value for value in model.graph.input if value.name in real]
    del model.graph.input[:]
    model.graph.input.extend(kept)
    if model.ir_version < _IR_WITHOUT_INITIALIZER_INPUTS:
        model.ir_version = _IR_WITHOUT_INITIALIZER_INPUTS


def infer_shapes(model: onnx.ModelProto) -> onnx.ModelProto:
    """`model`, changed in place, with value_info filled in; unchanged when inference fails.

    Inference runs on a light copy (see light_copy.py): serialising the weights for it cost
    5 s of a 9 s load on GPT-2. What it infers lives outside the top graph's initializers,
    so everything else is taken back from its result.
    """
    light = light_copy(model)
    try:
        inferred = onnx.shape_inference.infer_shapes(
            light, check_type=False, strict_mode=False, data_prop=True
        )
    except Exception:  # partial or failed inference only costs us dims and dtypes
        return model
    replace_fields(inferred.graph, model.graph, skip="initializer")
    replace_fields(inferred, model, skip="graph")
    return model
