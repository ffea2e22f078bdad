"""Inline the `If` branches that the probe inputs select.

Silero VAD keeps nearly its whole network inside `If` subgraphs chosen by the sample rate
(and nested `If`s chosen by tensor ranks). Layers, taps and findings only see the top graph,
so each top-level `If` whose condition onnxruntime can evaluate on the probe inputs is
replaced by the nodes of the branch it takes; this repeats until no such `If` is left. The
result computes the same function as the original for inputs like the probe inputs (same
shapes and control values); an `If` whose condition cannot be evaluated stays, as one opaque
OTHER layer.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import onnx
from onnx import helper

from gradlint.loaders.onnx.normalize import infer_shapes
from gradlint.model import Diagnostic

# Nesting depth we are willing to unfold (silero needs 4).
MAX_ROUNDS = 16


def inline_if_branches(
    model: onnx.ModelProto, feeds: Mapping[str, np.ndarray]
) -> tuple[onnx.ModelProto, tuple[Diagnostic, ...]]:
    """A copy of `model` with every evaluable top-level If replaced by its taken branch."""
    if not _top_level_ifs(model):
        return model, ()
    result = onnx.ModelProto()
    result.CopyFrom(model)
    taken: dict[str, str] = {}
    for _ in range(MAX_ROUNDS):
        ifs = _top_level_ifs(result)
        if not ifs:
            break
        conditions = _evaluate(result, [node.input[0] for node in ifs], feeds)
        if conditions is None:
            return infer_shapes(result), (_not_inlined(ifs, taken),)
        for node in ifs:
            taken_then = bool(np.asarray(conditions[node.input[0]]).reshape(-1)[0])
            branch = "then_branch" if taken_then else "else_branch"
            _inline(result.graph, node, branch)
            taken[node.name] = branch.split("_")[0]
    return infer_shapes(result), (_inlined(taken),)


def _top_level_ifs(model: onnx.ModelProto) -> list[onnx.NodeProto]:
    return [node for node in model.graph.node if node.op_type == "If" and node.domain in ("", "ai.onnx")]


def _evaluate(
    model: onnx.ModelProto, names: list[str], feeds: Mapping[str, np.ndarray]
) -> dict[str, np.ndarray] | None:
    """The values of `names` on `feeds`, computed by onnxruntime; None when it cannot."""
    import onnxruntime

    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    del probe.graph.output[:]
    probe.graph.output.extend(helper.make_empty_tensor_value_info(name) for name in dict.fromkeys(names))
    try:
        options = onnxruntime.SessionOptions()
        options.log_severity_level = 3
        session = onnxruntime.InferenceSession(
            probe.SerializeToString(), options, providers=["CPUExecutionProvider"]
        )
        wanted = {i.name for i in session.get_inputs()}
        values = session.run(None, {k: v for k, v in feeds.items() if k in wanted})
    except Exception:  # onnxruntime refuses the model or the feeds: keep the Ifs
        return None
    return dict(zip(dict.fromkeys(names), values))


def _inline(graph: onnx.GraphProto, node: onnx.NodeProto, branch_name: str) -> None:
    branch = next(a.g for a in node.attribute if a.name == branch_name)
    renames = _colliding_names(graph, node, branch)
    nodes = [_renamed(n, renames) for n in branch.node]
    for out, target in zip(branch.output, node.output):
        if target:
            nodes.append(helper.make_node("Identity", [renames.get(out.name, out.name)], [target],
                                          name=f"{node.name}/{branch_name}/{target}"))
    position = list(graph.node).index(node)
    del graph.node[position]
    for offset, new in enumerate(nodes):
        graph.node.insert(position + offset, new)
    for tensor in branch.initializer:
        copy = onnx.TensorProto()
        copy.CopyFrom(tensor)
        copy.name = renames.get(tensor.name, tensor.name)
        graph.initializer.append(copy)
    graph.value_info.extend(v for v in branch.value_info if v.name not in renames)


def _colliding_names(graph: onnx.GraphProto, node: onnx.NodeProto, branch: onnx.GraphProto) -> dict[str, str]:
    """Branch-local values whose names already exist in the top graph get fresh names."""
    outer = {name for n in graph.node if n is not node for name in n.output}
    outer |= {v.name for v in graph.input} | {t.name for t in graph.initializer}
    local = {name for n in branch.node for name in n.output if name} | {t.name for t in branch.initializer}
    renames: dict[str, str] = {}
    for name in sorted(local & outer):
        fresh, suffix = f"{name}__{node.name}", 0
        while fresh in outer or fresh in local:
            suffix += 1
            fresh = f"{name}__{node.name}_{suffix}"
        renames[name] = fresh
    return renames


def _renamed(node: onnx.NodeProto, renames: dict[str, str]) -> onnx.NodeProto:
    copy = onnx.NodeProto()
    copy.CopyFrom(node)
    if renames:
        copy.output[:] = [renames.get(name, name) for name in copy.output]
        _rename_reads(copy, renames)
    return copy


def _rename_reads(node: onnx.NodeProto, renames: dict[str, str]) -> None:
    """Rename `node`'s inputs and the outer-scope reads of its subgraphs, in place."""
    node.input[:] = [renames.get(name, name) for name in node.input]
    for attribute in node.attribute:
        for subgraph in [attribute.g] if attribute.HasField("g") else list(attribute.graphs):
            for inner in subgraph.node:
                _rename_reads(inner, renames)


def _inlined(taken: dict[str, str]) -> Diagnostic:
    listed = ", ".join(f"{name}: {branch}" for name, branch in taken.items())
    return Diagnostic(
        kind="if-inlined",
        message=f"analysing the If branches the probe inputs select ({listed})",
        details={"branches": dict(taken)},
    )


def _not_inlined(ifs: list[onnx.NodeProto], taken: dict[str, str]) -> Diagnostic:
    names = ", ".join(node.name for node in ifs)
    return Diagnostic(
        kind="if-opaque",
        message=f"could not evaluate the condition of If {names}; its branches are one opaque layer",
        node=ifs[0].name,
        op_type="If",
        details={"branches": dict(taken)},
    )
