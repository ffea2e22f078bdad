"""transformers models with tiny configs load through factories: module paths, lines, forward.

Each model is built from a small config with random weights (nothing is downloaded) and
loaded once per session.
"""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from gradlint.analysis.probe_inputs import make_probe_inputs
from gradlint.loaders.torch import load_torch
from gradlint.model import LayerKind, LoadedModel
from gradlint.options import AnalysisOptions
from torch_models import REPO

pytest.importorskip("transformers")
pytest.importorskip("gradlint.loaders.torch.module_runnable", reason="ModuleRunnable not built yet")

FACTORIES = REPO / "fixtures" / "torch_factories"
# model -> (a layer that must exist, its kind, the transformers source file it is called from)
EXPECTED = {
    "hf_resnet": ("resnet.encoder.stages.0.layers.0.layer.0.convolution", LayerKind.CONV, "modeling_resnet.py"),
    "hf_convnext": ("convnext.encoder.stages.0.layers.0.pwconv1", LayerKind.LINEAR, "modeling_convnext.py"),
    "hf_vit": ("vit.embeddings.patch_embeddings.projection", LayerKind.CONV, "modeling_vit.py"),
    "hf_bert": ("encoder.layer.1.attention.self.query", LayerKind.LINEAR, "modeling_bert.py"),
    "hf_gpt2": ("transformer.h.1.mlp.c_fc", LayerKind.LINEAR, "modeling_gpt2.py"),
    "hf_llama": ("model.layers.1.mlp.gate_proj", LayerKind.LINEAR, "modeling_llama.py"),
    "hf_mobilenet_v2": ("mobilenet_v2.layer.0.conv_3x3.convolution", LayerKind.CONV, "modeling_mobilenet_v2.py"),
}
TOKEN_MODELS = {"hf_bert", "hf_gpt2", "hf_llama"}


@pytest.fixture(scope="session")
def loaded() -> dict[str, LoadedModel]:
    options = AnalysisOptions(batch_size=2)
    return {name: load_torch(f"{FACTORIES / name}.py:build", options) for name in EXPECTED}


@pytest.mark.parametrize("name", list(EXPECTED))
def test_graph_has_module_paths_and_source_lines(loaded: dict, name: str) -> None:
    model = loaded[name]
    layer_name, kind, source = EXPECTED[name]
    assert not [d for d in model.diagnostics if d.kind == "graph-fallback"], "export fell back"
    layer = model.graph.layer(layer_name)
    assert layer.kind == kind
    assert layer.location is not None and Path(layer.location.path).name == source
    line = Path(layer.location.path).read_text().splitlines()[layer.location.line - 1]
    assert layer_name.rsplit(".", 1)[-1] in line, line  # the line calls the module by its name
    weighted = model.graph.weight_layers()
    assert len(weighted) >= 4 and all(l.weight is not None and l.fan_in for l in weighted)


@pytest.mark.parametrize("name", list(EXPECTED))
def test_forward_runs_with_probe_inputs(loaded: dict, name: str) -> None:
    model = loaded[name]
    model.runnable.set_norm_mode("batch")
    inputs = make_probe_inputs(model.inputs, seed=0)
    assert all(spec.shape[0] == 2 for spec in model.inputs)
    with torch.no_grad():
        outputs = model.runnable.forward(inputs)
    assert outputs and all(torch.isfinite(v).all() for v in outputs.values() if v.is_floating_point())


@pytest.mark.parametrize("name", sorted(TOKEN_MODELS))
def test_token_ids_are_drawn_below_the_vocabulary(loaded: dict, name: str) -> None:
    model = loaded[name]
    (spec,) = model.inputs
    assert spec.dtype == torch.int64 and spec.high == 100


def test_residual_merges_are_layers(loaded: dict) -> None:
    bert = loaded["hf_bert"]
    merge = bert.graph.layer("encoder.layer.0.output+add")
    assert merge.kind == LayerKind.ADD
    assert sorted(bert.graph.predecessors(merge.name)) == [
        "encoder.layer.0.attention.output.LayerNorm", "encoder.layer.0.output.dense",
    ]
    llama = loaded["hf_llama"]
    assert llama.graph.layer("model.layers.0.self_attn+attention").kind == LayerKind.ATTENTION
    assert llama.graph.layer("model.layers.0.mlp.gate_proj").activation == "silu"

