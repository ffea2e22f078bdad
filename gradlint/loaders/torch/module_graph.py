"""The LayerGraph of an eager nn.Module: torch.export where it works, module hooks otherwise.

A failed export is never fatal: the hook graph (layers in execution order, no merges) is used
and a `graph-fallback` Diagnostic says why export failed, which GL904 reports.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from gradlint.loaders.torch.example_inputs import ExampleInputs
from gradlint.loaders.torch.export_graph import ExportFailed, export_program
from gradlint.loaders.torch.export_records import records_from_program
from gradlint.loaders.torch.layer_builder import build_layer_graph
from gradlint.loaders.torch.op_records import ProgramRecords
from gradlint.model import Diagnostic, LayerGraph, LayerKind


@dataclass(frozen=True)
class ModuleGraph:
    graph: LayerGraph
    records: ProgramRecords | None  # None when the graph came from hooks
    diagnostics: tuple[Diagnostic, ...] = ()


def module_graph(module: torch.nn.Module, example: ExampleInputs) -> ModuleGraph:
    try:
        program = export_program(module, example.args, example.kwargs)
    except ExportFailed as failure:
        return _hook_graph(module, example, str(failure))
    records = records_from_program(program)
    return ModuleGraph(build_layer_graph(records, example.names), records)


def _hook_graph(module: torch.nn.Module, example: ExampleInputs, reason: str) -> ModuleGraph:
    from gradlint.loaders.torch.module_runnable import hook_layer_graph

    note = Diagnostic(
        kind="graph-fallback",
        message=f"torch.export failed ({reason}); layers come from forward hooks on leaf modules",
    )
    graph = hook_layer_graph(module, example.by_name())
    return ModuleGraph(graph, None, (note,))


def module_layer_paths(graph: LayerGraph) -> list[str]:
    """Layers that are module calls (hookable): not inputs, outputs or merges (`path+add`)."""
    return [
        layer.name
        for layer in graph.layers()
        if layer.kind not in (LayerKind.INPUT, LayerKind.OUTPUT) and "+" not in layer.name
    ]
