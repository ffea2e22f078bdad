"""Load an ONNX file into a `LoadedModel`.

read (safe parse, names, real inputs, shapes, post-processing cut) -> resolve inputs ->
inline the If branches the probe inputs select -> LayerGraph -> executor. Problems the user
must fix raise gradlint.errors; problems gradlint can report (unsupported ops, a cut tail,
an opaque If) are Diagnostics on the result.
"""
from __future__ import annotations

from pathlib import Path
from typing import Mapping, Sequence

import numpy as np
import onnx

from gradlint.model import Diagnostic, InputSpec, Layer, LoadedModel, Runnable
from gradlint.options import AnalysisOptions


def load_onnx(path: str | Path, options: AnalysisOptions) -> LoadedModel:
    from gradlint.loaders.onnx.inputs import fit_inputs
    from gradlint.loaders.onnx.layers import build_layer_graph
    from gradlint.loaders.onnx.reader import read_onnx_checked
    from gradlint.loaders.onnx.specialize import inline_if_branches

    read = read_onnx_checked(path)
    specs, input_notes = fit_inputs(read.model, options.inputs, options.batch_size, options.sequence_length)
    model, branch_notes = inline_if_branches(read.model, _feeds(specs, options.seed))
    graph = build_layer_graph(model)
    runnable, run_notes = _runnable(model, graph.layers())
    return LoadedModel(
        path=str(path),
        format="onnx",
        runnable=runnable,
        inputs=specs,
        graph=graph,
        diagnostics=read.diagnostics + input_notes + branch_notes + run_notes,
        source=model,
    )


def _feeds(specs: Sequence[InputSpec], seed: int) -> Mapping[str, np.ndarray]:
    """The probe inputs themselves, so the inlined branches are the ones the probe takes."""
    from gradlint.analysis.probe_inputs import make_probe_inputs

    tensors = make_probe_inputs(specs, seed)
    return {name: tensor.numpy() for name, tensor in tensors.items() if _numpy_ok(tensor)}


def _numpy_ok(tensor: object) -> bool:
    import torch

    return isinstance(tensor, torch.Tensor) and tensor.dtype != torch.bfloat16


def _runnable(
    model: onnx.ModelProto, layers: Sequence[Layer]
) -> tuple[Runnable | None, tuple[Diagnostic, ...]]:
    try:
        from gradlint.loaders.onnx.executor import build_runnable
    except ImportError:  # the executor is optional at this layer: the graph is still useful
        note = Diagnostic(kind="executor-unavailable", message="the ONNX executor is not installed")
        return None, (note,)
    return build_runnable(model, layers)
