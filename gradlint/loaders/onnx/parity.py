"""Executor vs onnxruntime: does gradlint's torch executor compute the model's function?

`check_parity` runs onnxruntime (the reference, see parity_runtime.py) and the executor on
the same inputs, in inference semantics (stored normalization statistics) and float32 on
the CPU, and measures per graph output

    error = max|ours - reference| / max(max|reference|, 1e-12)

A relative error per element would be meaningless: outputs cross zero, and near zero any
rounding difference is a huge ratio. Scaling by the largest reference magnitude measures the
disagreement against the size of the signal, which is what float32 rounding is proportional
to. Integer and boolean outputs have no rounding: their error is the fraction of elements
that differ. When the check fails, the first node whose value diverges is located (see
parity_localise.py) so the report can name the op gradlint gets wrong.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Iterator, Mapping

import onnx
import torch

from gradlint.analysis.facts import ParityResult
from gradlint.loaders.onnx.parity_compare import (
    relative_error,
    run_executor_reference_mode,
    to_numpy,
)
from gradlint.loaders.onnx.parity_localise import Divergence, first_divergence
from gradlint.loaders.onnx.parity_runtime import ParityUnavailable, run_onnxruntime
from gradlint.model import Diagnostic, Runnable

__all__ = ["Divergence", "OnnxParityResult", "ParityUnavailable", "check_parity",
           "parity_diagnostics", "probe_forward_serves_parity", "relative_error"]

# Ops whose executor result depends on the probe's semantics (normalization mode) or on a
# random draw: with none of them, the probe's own forward is the reference-mode forward.
# Dropout is not one: the executor runs it as the identity in every mode.
_MODE_DEPENDENT_OPS = frozenset({
    "BatchNormalization", "RandomNormal", "RandomNormalLike", "RandomUniform",
    "RandomUniformLike", "Multinomial", "Bernoulli",
})


@dataclass(frozen=True)
class OnnxParityResult(ParityResult):
    """A ParityResult that also names the worst output and, on failure, where it starts."""

    worst_output: str | None = None
    divergence: Divergence | None = None


def check_parity(
    model: onnx.ModelProto,
    runnable: Runnable,
    inputs: Mapping[str, torch.Tensor],
    tolerance: float = 1e-4,
    executor_outputs: Mapping[str, torch.Tensor] | None = None,
) -> OnnxParityResult:
    """Compare every graph output; ParityUnavailable when onnxruntime cannot run the model.
    `executor_outputs`: the executor's outputs on these inputs from a forward already run
    (the probe's, see `probe_forward_serves_parity`), instead of running it again."""
    cpu_inputs = {name: tensor.detach().cpu() for name, tensor in inputs.items()}
    reference = run_onnxruntime(model, cpu_inputs)
    if executor_outputs is None:
        ours = run_executor_reference_mode(runnable, cpu_inputs)
    else:
        ours = {name: value.detach().cpu() for name, value in executor_outputs.items()}
    per_output = {
        name: relative_error(to_numpy(ours.get(name)), want) for name, want in reference.items()
    }
    worst = max(per_output, key=lambda name: per_output[name], default=None)
    result = OnnxParityResult(
        max_relative_error=per_output[worst] if worst is not None else 0.0,
        tolerance=tolerance,
        per_output=per_output,
        worst_output=worst,
    )
    if result.passed:
        return result
    divergence = first_divergence(model, cpu_inputs, tolerance)
    return OnnxParityResult(result.max_relative_error, tolerance, per_output, worst, divergence)


def probe_forward_serves_parity(model: onnx.ModelProto) -> bool:
    """Whether the probe's forward pass (batch statistics, float32 on the CPU) computes what
    the reference-mode forward would: no op anywhere in the model depends on the normalization
    mode or on a random draw. Then parity compares onnxruntime with the probe's outputs and
    the executor runs once less (GPT-2 small at 8 x 128 tokens: 6.2 s, nearly a training
    step). Recording a graph for backward does not change what the forward computes."""
    return not any(node.op_type in _MODE_DEPENDENT_OPS for node in _all_nodes(model))


def _all_nodes(model: onnx.ModelProto) -> Iterator[onnx.NodeProto]:
    yield from _graph_nodes(model.graph.node)
    for function in model.functions:
        yield from _graph_nodes(function.node)


def _graph_nodes(nodes: Iterable[onnx.NodeProto]) -> Iterator[onnx.NodeProto]:
    for node in nodes:
        yield node
        for attribute in node.attribute:
            for graph in ([attribute.g] if attribute.HasField("g") else []) + list(attribute.graphs):
                yield from _graph_nodes(graph.node)


def parity_diagnostics(result: ParityResult) -> tuple[Diagnostic, ...]:
    """One 'parity-mismatch' Diagnostic when the check failed, naming the worst output."""
    if result.passed:
        return ()
    worst = getattr(result, "worst_output", None)
    if worst is None and result.per_output:
        worst = max(result.per_output, key=lambda name: result.per_output[name])
    divergence = getattr(result, "divergence", None)
    message = (
        f"output {worst!r} differs from onnxruntime by {result.max_relative_error:.3g} "
        f"(relative to its largest value; tolerance {result.tolerance:.3g})"
    )
    details: dict[str, object] = {
        "output": worst,
        "relative_error": result.max_relative_error,
        "tolerance": result.tolerance,
        "per_output": dict(result.per_output),
    }
    if divergence is not None:
        message += (
            f"; first diverging node {divergence.node} ({divergence.op_type}), "
            f"value {divergence.value!r} off by {divergence.relative_error:.3g}"
        )
        details.update(dict(_divergence_details(divergence)))
    node = divergence.node if divergence is not None else None
    op_type = divergence.op_type if divergence is not None else None
    return (Diagnostic("parity-mismatch", message, node=node, op_type=op_type, details=details),)


def _divergence_details(divergence: Divergence) -> Iterator[tuple[str, object]]:
    yield "first_divergent_node", divergence.node
    yield "first_divergent_op", divergence.op_type
    yield "first_divergent_value", divergence.value
    yield "first_divergent_error", divergence.relative_error
