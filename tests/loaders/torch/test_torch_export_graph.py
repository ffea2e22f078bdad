"""The LayerGraph torch.export gives: module-path layers, merges, fans, activations, lines."""
from __future__ import annotations

import math

import pytest
import torch

from gradlint.loaders.torch.export_graph import ExportFailed, export_program, layer_graph_from_program
from gradlint.model import LayerGraph, LayerKind
from torch_models import SMALL_CNN, DataDependent, Nested, TokenModel, small_cnn


@pytest.fixture(scope="module")
def cnn_graph() -> LayerGraph:
    module, example = small_cnn()
    return layer_graph_from_program(export_program(module, (example,), {}), ["x"])


def test_layers_are_module_paths_with_kinds(cnn_graph: LayerGraph) -> None:
    kinds = [(layer.name, layer.kind) for layer in cnn_graph.layers()]
    assert kinds == [
        ("x", LayerKind.INPUT),
        ("conv", LayerKind.CONV),
        ("bn", LayerKind.NORM),
        ("act", LayerKind.OTHER),
        ("conv2", LayerKind.CONV),
        ("+add", LayerKind.ADD),
        ("fc", LayerKind.LINEAR),
        ("output", LayerKind.OUTPUT),
    ]


def test_edges_follow_the_data(cnn_graph: LayerGraph) -> None:
    assert sorted(cnn_graph.predecessors("+add")) == ["act", "conv2"]
    assert cnn_graph.predecessors("fc") == ["+add"]
    assert cnn_graph.predecessors("conv") == ["x"]
    assert cnn_graph.predecessors("output") == ["fc"]
    assert [cnn_graph.layer(n).depth for n in ("x", "conv", "bn", "act", "conv2", "+add", "fc")] == [0, 1, 2, 3, 4, 5, 6]


def test_weights_fans_and_following_activation(cnn_graph: LayerGraph) -> None:
    module, _ = small_cnn()
    conv = cnn_graph.layer("conv")
    assert (conv.fan_in, conv.fan_out) == (3 * 9, 8 * 9)
    assert conv.normalization == "batchnorm" and conv.activation == "relu"
    expected_std = float(module.conv.weight.detach().double().std(correction=0))
    assert conv.weight is not None and conv.weight.std == pytest.approx(expected_std)
    assert conv.weight.scaled_std == pytest.approx(expected_std * math.sqrt(27))
    assert conv.bias_mean == pytest.approx(float(module.conv.bias.detach().double().mean()))
    assert cnn_graph.layer("act").activation == "relu"
    assert cnn_graph.layer("bn").normalization == "batchnorm"
    fc = cnn_graph.layer("fc")
    assert (fc.fan_in, fc.fan_out, fc.activation) == (8, 4, None)


def test_locations_point_at_the_calling_lines(cnn_graph: LayerGraph) -> None:
    source = SMALL_CNN.read_text().splitlines()
    for name, code in [("conv", "self.conv(x)"), ("conv2", "self.conv2(y)"), ("+add", "y + self.conv2(y)"),
                       ("fc", "self.fc(")]:
        location = cnn_graph.layer(name).location
        assert location is not None and location.path == str(SMALL_CNN)
        assert code in source[location.line - 1], name


def test_repeated_module_calls_and_containers() -> None:
    graph = layer_graph_from_program(export_program(Nested(), (torch.randn(2, 4),), {}), ["x"])
    names = [layer.name for layer in graph.layers()]
    assert names == [
        "x", "blocks.0.fc", "blocks.0.relu", "blocks.0+add", "blocks.0.relu@1",
        "blocks.1.fc", "blocks.1.relu", "blocks.1+add", "blocks.1.relu@1",
        "head.0", "head.1", "+cat", "output",
    ]
    assert graph.layer("+cat").kind == LayerKind.CONCAT
    assert sorted(graph.predecessors("+cat")) == ["blocks.1.relu@1", "head.1"]
    assert sorted(graph.predecessors("blocks.0+add")) == ["blocks.0.relu", "x"]
    assert graph.layer("head.0").activation == "tanh"


def test_embeddings_have_unit_fan_in() -> None:
    model = TokenModel()
    graph = layer_graph_from_program(export_program(model, (torch.randint(0, 37, (2, 5)),), {}), ["input_ids"])
    embed = graph.layer("embed")
    assert embed.kind == LayerKind.EMBEDDING and (embed.fan_in, embed.fan_out) == (1, 8)
    assert embed.weight is not None and embed.weight.scaled_std == pytest.approx(embed.weight.std)
    assert "other" not in graph  # never called: not a layer


def test_export_failure_is_reported_not_raised() -> None:
    with pytest.raises(ExportFailed) as failure:
        export_program(DataDependent(), (torch.randn(2, 4),), {})
    assert "\n" not in str(failure.value) and str(failure.value)


def test_export_restores_training_flags() -> None:
    module, example = small_cnn()
    module.train()
    module.bn.eval()
    export_program(module, (example,), {})
    assert module.training and module.conv.training and not module.bn.training
