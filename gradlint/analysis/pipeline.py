"""Analysis: from a loaded model to the facts rules read (parity, probes).

Each step that cannot run says so as a Diagnostic instead of failing the model: the report
must still come out (DESIGN.md).
"""
from __future__ import annotations

from typing import Callable, Mapping

import torch

from gradlint.analysis.facts import Facts, ParityResult, ProbeResult
from gradlint.analysis.probe_inputs import make_probe_inputs
from gradlint.analysis.static import static_facts_or_diagnostic
from gradlint.model import Diagnostic, LoadedModel
from gradlint.options import AnalysisOptions

PARITY_TOLERANCE = 1e-4

Progress = Callable[[str], None]


def analyse(
    model: LoadedModel,
    options: AnalysisOptions,
    parity_tolerance: float = PARITY_TOLERANCE,
    progress: object | None = None,
) -> Facts:
    diagnostics = list(model.diagnostics)
    static, static_notes = static_facts_or_diagnostic(model)
    diagnostics += static_notes
    wants_parity = model.runnable is not None and model.format == "onnx" and options.parity
    wants_probe = model.runnable is not None and options.probe
    forward = _ProbeForward() if wants_parity and wants_probe and _shared_forward(model, options) else None
    probe, probe_notes = _run_probes(model, options, progress, forward) if wants_probe else (None, [])
    parity = None
    if wants_parity:
        parity, parity_notes = _check_parity(model, options, parity_tolerance, forward)
        diagnostics += parity_notes
    diagnostics += probe_notes
    return Facts(diagnostics=_unique(diagnostics), parity=parity, probe=probe, static=static)


class _ProbeForward:
    """The probe's forward inputs and outputs, kept for parity."""

    def __init__(self) -> None:
        self.inputs: Mapping[str, torch.Tensor] = {}
        self.outputs: Mapping[str, torch.Tensor] = {}

    def __call__(self, inputs: Mapping[str, torch.Tensor], outputs: Mapping[str, torch.Tensor]) -> None:
        self.inputs, self.outputs = inputs, outputs

    def outputs_at(self, inputs: Mapping[str, torch.Tensor]) -> Mapping[str, torch.Tensor] | None:
        """The outputs, if the probe ran on exactly `inputs` (not on a reduced batch)."""
        same = inputs.keys() == self.inputs.keys() and all(
            self.inputs[name].shape == value.shape and torch.equal(self.inputs[name].detach().cpu(), value)
            for name, value in inputs.items()
        )
        return self.outputs if same and self.outputs else None


def _shared_forward(model: LoadedModel, options: AnalysisOptions) -> bool:
    """Parity can read the probe's forward: a CPU, float32 run of a model with no op that
    depends on the normalization mode or on a random draw (see probe_forward_serves_parity)."""
    from gradlint.analysis.probe import probe_device
    from gradlint.loaders.onnx.parity import probe_forward_serves_parity

    float_dtype = getattr(model.runnable, "float_dtype", None)
    try:
        on_cpu = probe_device(options.device).type == "cpu"
    except Exception:  # an unavailable device: the probe itself will say so
        return False
    if not on_cpu or float_dtype != torch.float32:
        return False
    return model.source is not None and probe_forward_serves_parity(model.source)


def _check_parity(
    model: LoadedModel, options: AnalysisOptions, tolerance: float, forward: _ProbeForward | None = None
) -> tuple[ParityResult | None, list[Diagnostic]]:
    from gradlint.loaders.onnx.parity import ParityUnavailable, check_parity, parity_diagnostics

    # Parity runs in float32 on CPU: onnxruntime's CPU provider is the reference.
    inputs = make_probe_inputs(model.inputs, options.seed, "cpu")
    ours = forward.outputs_at(inputs) if forward is not None else None
    try:
        result = check_parity(model.source, model.runnable, inputs, tolerance=tolerance, executor_outputs=ours)
    except ParityUnavailable as reason:
        note = Diagnostic(kind="parity-unavailable", message=f"onnxruntime could not run the model: {reason}")
        return None, [note]
    except Exception as error:  # the executor itself failed: a finding, never a traceback
        return None, [_execution_failed(error, model)]
    return result, list(parity_diagnostics(result))


def _run_probes(
    model: LoadedModel, options: AnalysisOptions, progress: object | None, forward: _ProbeForward | None
) -> tuple[ProbeResult | None, list[Diagnostic]]:
    from gradlint.analysis.probe import run_probes

    try:
        result = run_probes(model, options, progress=progress, on_forward=forward)
    except torch.cuda.OutOfMemoryError:
        return None, [Diagnostic(kind="probe-failed", message="the probe did not fit in device memory")]
    except Exception as error:  # a finding, never a traceback
        return None, [_execution_failed(error, model)]
    return result, list(getattr(result, "diagnostics", ()))


def _layer_covering(model: LoadedModel, node: str | None) -> str | None:
    """The layer whose ops include `node` (findings point at layers), else the node itself."""
    for layer in model.graph.layers():
        if node is not None and node in layer.nodes:
            return layer.name
    return node


def _unique(diagnostics: list[Diagnostic]) -> tuple[Diagnostic, ...]:
    """Parity and probe can fail on the same node with the same error: say it once."""
    seen: set[tuple[str, str | None, str]] = set()
    kept = []
    for diagnostic in diagnostics:
        key = (diagnostic.kind, diagnostic.node, diagnostic.message)
        if key not in seen:
            seen.add(key)
            kept.append(diagnostic)
    return tuple(kept)


def _execution_failed(error: Exception, model: LoadedModel) -> Diagnostic:
    """The model raised while gradlint ran it; name the layer when the executor said which node."""
    node = _layer_covering(model, getattr(error, "node", None))
    op_type = getattr(error, "op_type", None)
    cause = " ".join(str(error).split()) or type(error).__name__
    return Diagnostic(
        kind="execution-failed",
        message=f"running the model failed: {type(error).__name__}: {cause}"[:500],
        node=node,
        op_type=op_type,
    )
