"""A TorchScript module's LayerGraph equals the one torch.export gives for its Python model."""
from __future__ import annotations

import pytest
import torch

from gradlint.loaders.torch.export_graph import export_program, layer_graph_from_program
from gradlint.loaders.torch.layer_builder import build_layer_graph
from gradlint.loaders.torch.torchscript_records import records_from_script_module
from gradlint.model import LayerGraph
from torch_models import Nested, small_cnn


def _summary(graph: LayerGraph) -> tuple[list, list, list]:
    layers = graph.layers()
    return (
        [(layer.name, layer.kind, layer.activation, layer.normalization, layer.fan_in) for layer in layers],
        sorted(graph.graph.edges),
        [layer.location for layer in layers],
    )


@pytest.mark.parametrize("build", [small_cnn, lambda: (Nested().eval(), torch.randn(2, 4))], ids=["cnn", "nested"])
def test_script_graph_matches_export_graph(build) -> None:
    module, example = build()
    exported = layer_graph_from_program(export_program(module, (example,), {}), ["x"])
    scripted = build_layer_graph(records_from_script_module(torch.jit.script(module)), ["x"])
    assert _summary(scripted) == _summary(exported)


def test_script_records_name_parameters_and_repeated_calls() -> None:
    records = records_from_script_module(torch.jit.script(Nested()))
    fqns = {named.fqn for named in records.tensors.values()}
    assert {"blocks.0.fc.weight", "blocks.1.fc.bias", "head.0.weight"} <= fqns
    calls = [op.owner.call for op in records.ops if op.owner is not None and op.owner.path == "blocks.0.relu"]
    assert "blocks.0.relu" in calls and "blocks.0.relu@1" in calls
