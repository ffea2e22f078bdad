"""build_layer_graph on the eight third-party models in shared/models.

Counts come from the models' documented architectures (README of shared/models), e.g.
ResNet-50 has 53 convolutions and 16 residual merges, BERT-toy 5 layers x (Q, K, V, output,
intermediate, output) dense layers plus the pooler and three head layers.
"""
from __future__ import annotations

from collections import Counter

import networkx as nx
import pytest
from onnx_graphs import MODELS_DIR

from gradlint.loaders.onnx.layers import build_layer_graph
from gradlint.loaders.onnx.reader import read_onnx
from gradlint.loaders.onnx.specialize import inline_if_branches
from gradlint.model import LayerGraph, LayerKind

pytestmark = pytest.mark.skipif(not MODELS_DIR.exists(), reason="shared real models not present")

K = LayerKind
EXPECTED = {
    "cnn_bn__burn_mnist_convbn.onnx": {K.CONV: 3, K.LINEAR: 2},
    "cnn_nobn__mnist8_cntk_modelzoo.onnx": {K.CONV: 2, K.LINEAR: 1, K.POOL: 2},
    "cnn_nobn__squeezenet_coreml_opset7_winml.onnx": {K.CONV: 25, K.CONCAT: 8, K.LINEAR: 1, K.NORM: 1},
    "lstm__dtln_denoise_stage1.onnx": {K.RECURRENT: 2, K.LINEAR: 1},
    "resnet50_topology_constweights__onnx_light.onnx": {K.CONV: 53, K.ADD: 16, K.LINEAR: 1, K.POOL: 2},
    "transformer__bert_large_squad_sliced_tiny_keras2onnx.onnx":
        {K.EMBEDDING: 2, K.LINEAR: 24 * 6 + 1, K.ATTENTION: 24 * 2, K.NORM: 24 * 2 + 1},
    "transformer__bert_toy_randinit.onnx": {K.EMBEDDING: 2, K.LINEAR: 5 * 6 + 4, K.ATTENTION: 5 * 2, K.NORM: 5 * 2 + 2},
}
_graphs: dict[str, LayerGraph] = {}


def _graph(name: str) -> LayerGraph:
    if name not in _graphs:
        model = read_onnx(MODELS_DIR / name)
        if name.startswith("lstm__silero"):
            import numpy as np

            feeds = {"input": np.zeros((1, 512), np.float32), "state": np.zeros((2, 1, 128), np.float32),
                     "sr": np.array(16000, np.int64)}
            model, _ = inline_if_branches(model, feeds)
        _graphs[name] = build_layer_graph(model)
    return _graphs[name]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_layer_counts(name: str) -> None:
    counts = Counter(layer.kind for layer in _graph(name))
    assert {kind: counts[kind] for kind in EXPECTED[name]} == EXPECTED[name]


@pytest.mark.parametrize("name", sorted([*EXPECTED, "lstm__silero_vad_v5.onnx"]))
def test_structure_is_sound(name: str) -> None:
    graph = _graph(name)
    assert nx.is_directed_acyclic_graph(graph.graph)
    covered = [node for layer in graph for node in layer.nodes]
    assert len(covered) == len(set(covered)), "a node belongs to two layers"
    inputs = [layer.name for layer in graph if layer.kind is K.INPUT]
    for layer in graph:
        if layer.kind not in (K.INPUT, K.OUTPUT):
            assert layer.nodes and layer.output, layer.name
        if layer.kind in (K.CONV, K.LINEAR, K.RECURRENT, K.EMBEDDING):
            assert layer.fan_in and layer.weight is not None, layer.name
        if layer.kind is K.OUTPUT:
            assert any(nx.has_path(graph.graph, source, layer.name) for source in inputs)


def test_silero_branch_layers_are_visible() -> None:
    graph = _graph("lstm__silero_vad_v5.onnx")
    names = {layer.name: layer.kind for layer in graph}
    assert names["encoder.0.reparam_conv"] is K.CONV and names["decoder.rnn"] is K.RECURRENT
    assert Counter(names.values())[K.CONV] == 6  # stft basis, 4 encoder convs, decoder conv


def test_known_details() -> None:
    resnet = _graph("resnet50_topology_constweights__onnx_light.onnx")
    assert all(l.weight.std == 0.0 for l in resnet.weight_layers() if l.kind is K.CONV)  # ConstantOfShape
    assert all(l.normalization == "batchnorm" for l in resnet if l.kind is K.CONV)
    keras = _graph("transformer__bert_large_squad_sliced_tiny_keras2onnx.onnx")
    assert Counter(l.activation for l in keras if l.kind is K.LINEAR)["gelu"] == 24
    assert all(l.normalization == "layernorm" for l in keras if l.kind is K.NORM)
    dtln = _graph("lstm__dtln_denoise_stage1.onnx")
    assert [l.fan_in for l in dtln if l.kind is K.RECURRENT] == [257 + 128, 128 + 128]
