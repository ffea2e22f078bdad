"""Where a failed parity check starts: the first node whose value diverges.

A copy of the model exposes the outputs of every main-graph node as extra graph outputs;
onnxruntime and a fresh executor both run the copy on the same inputs, and the nodes are
scanned in graph order (topological in a valid model) for the first value beyond the
tolerance. It runs only after a failed check, since exposing every value costs memory and
disables some of onnxruntime's graph rewrites. Any failure here yields no location rather than
an error: the mismatch itself is already established.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

import onnx
import torch
from onnx import helper

from gradlint.loaders.onnx.parity_compare import (
    relative_error,
    run_executor_reference_mode,
    to_numpy,
)
from gradlint.loaders.onnx.parity_runtime import run_onnxruntime

# Ops whose outputs cannot diverge on their own (they only carry stored values).
_SKIPPED_OPS = frozenset({"Constant", "Identity"})


@dataclass(frozen=True)
class Divergence:
    """The first node (in graph order) whose output disagrees beyond the tolerance."""

    node: str
    op_type: str
    value: str
    relative_error: float


def first_divergence(
    model: onnx.ModelProto, inputs: Mapping[str, torch.Tensor], tolerance: float
) -> Divergence | None:
    candidates = _candidates(model.graph)
    if not candidates:
        return None
    exposed = _with_outputs(model, [value for _, _, value in candidates])
    try:
        reference = run_onnxruntime(exposed, inputs)
        ours = _run_executor(exposed, inputs)
    except Exception:  # no location is better than a second failure (ParityUnavailable too)
        return None
    if ours is None:
        return None
    for node, op_type, value in candidates:
        if value not in reference:
            continue
        error = relative_error(to_numpy(ours.get(value)), reference[value])
        if error > tolerance:
            return Divergence(node, op_type, value, error)
    return None


def _candidates(graph: onnx.GraphProto) -> list[tuple[str, str, str]]:
    """(node name, op type, output value) for every output of every main-graph node."""
    found = []
    for index, node in enumerate(graph.node):
        if node.op_type in _SKIPPED_OPS:
            continue
        name = node.name or f"{node.op_type}_{index}"  # the executor's name for unnamed nodes
        found += [(name, node.op_type, output) for output in node.output if output]
    return found


def _with_outputs(model: onnx.ModelProto, values: list[str]) -> onnx.ModelProto:
    exposed = onnx.ModelProto()
    exposed.CopyFrom(model)
    present = {output.name for output in exposed.graph.output}
    for value in values:
        if value not in present:
            exposed.graph.output.append(helper.make_empty_tensor_value_info(value))
            present.add(value)
    return exposed


def _run_executor(model: onnx.ModelProto, inputs: Mapping[str, torch.Tensor]) -> dict | None:
    from gradlint.loaders.onnx.executor import build_runnable

    runnable, _ = build_runnable(model)
    if runnable is None:
        return None
    return run_executor_reference_mode(runnable, inputs)
