"""The executor on the 8 real third-party models: every output within 1e-4 of onnxruntime.

Runs in 'running' norm mode (stored BN statistics, the inference semantics onnxruntime uses).
The squeezenet's ai.onnx.ml post-processing is cut here the way the reader cuts it, keeping
the Sigmoid output; that is test preparation, not the executor's job.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
import torch

MODELS = Path(__file__).resolve().parents[3].parent / "shared" / "models"
TOLERANCE = 1e-4


def cut_to_outputs(model: onnx.ModelProto, outputs: list[str]) -> onnx.ModelProto:
    """Keep only the nodes `outputs` depend on, and make `outputs` the graph outputs."""
    graph = model.graph
    needed, kept = set(outputs), []
    for node in reversed(list(graph.node)):
        if needed & set(node.output):
            kept.append(node)
            needed |= set(node.input)
    del graph.node[:]
    graph.node.extend(reversed(kept))
    del graph.output[:]
    graph.output.extend(onnx.helper.make_empty_tensor_value_info(name) for name in outputs)
    return model


def ints(shape, high: int, dtype, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, high, shape).astype(dtype)


def floats(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def bert_feeds(names: tuple[str, str, str], vocab: int, dtype) -> dict[str, np.ndarray]:
    ids, types, mask = names
    return {ids: ints((2, 7), vocab, dtype, 1), types: ints((2, 7), 2, dtype, 2),
            mask: np.ones((2, 7), dtype)}


CASES = {
    "cnn_nobn__mnist8_cntk_modelzoo.onnx": lambda: {"Input3": floats(1, 1, 28, 28)},
    "cnn_nobn__squeezenet_coreml_opset7_winml.onnx": lambda: {"data": floats(1, 3, 227, 227)},
    "cnn_bn__burn_mnist_convbn.onnx": lambda: {"input.1": floats(1, 1, 28, 28)},
    "resnet50_topology_constweights__onnx_light.onnx":
        lambda: {"gpu_0/data_0": floats(1, 3, 224, 224)},
    "lstm__silero_vad_v5.onnx": lambda: {"input": floats(1, 512) * 0.1,
                                         "state": floats(2, 1, 128, seed=1) * 0.1,
                                         "sr": np.array(16000, np.int64)},
    "lstm__dtln_denoise_stage1.onnx": lambda: {"input_2": np.abs(floats(1, 1, 257)),
                                               "input_3": floats(1, 2, 128, 2, seed=1)},
    "transformer__bert_large_squad_sliced_tiny_keras2onnx.onnx":
        lambda: bert_feeds(("input_ids", "token_type_ids", "attention_mask"), 20, np.int32),
    "transformer__bert_toy_randinit.onnx":
        lambda: bert_feeds(("input_ids", "token_type_ids", "input_mask"), 99, np.int64),
}


def load(name: str) -> onnx.ModelProto:
    path = MODELS / name
    if not path.exists():
        pytest.skip(f"real model {name} not found under {MODELS}")
    model = onnx.load(str(path))
    if name.startswith("cnn_nobn__squeezenet"):
        model = cut_to_outputs(model, ["loss1"])
    return model


@pytest.mark.parametrize("name", sorted(CASES))
def test_real_model_matches_onnxruntime(onnx_helpers, name):
    model = load(name)
    feeds = CASES[name]()
    reference = onnx_helpers.run_ort(model, feeds)
    ours = onnx_helpers.run_executor(model, feeds, norm_mode="running")
    assert len(ours) == len(reference)
    for got, want in zip(ours, reference):
        assert tuple(got.shape) == want.shape
        assert onnx_helpers.relative_error(got.numpy(), want) <= TOLERANCE


def test_silero_8k_branch_matches_onnxruntime(onnx_helpers):
    model = load("lstm__silero_vad_v5.onnx")
    feeds = {"input": floats(1, 256) * 0.1, "state": floats(2, 1, 128, seed=1) * 0.1,
             "sr": np.array(8000, np.int64)}
    reference = onnx_helpers.run_ort(model, feeds)
    ours = onnx_helpers.run_executor(model, feeds, norm_mode="running")
    for got, want in zip(ours, reference):
        assert onnx_helpers.relative_error(got.numpy(), want) <= TOLERANCE


def test_real_model_backpropagates_to_inputs_and_weights():
    from gradlint.loaders.onnx.executor import build_runnable

    model = load("cnn_bn__burn_mnist_convbn.onnx")
    runnable, _ = build_runnable(model)
    params = dict(runnable.named_parameters())
    for tensor in params.values():
        tensor.requires_grad_(True)
    x = torch.randn(4, 1, 28, 28, requires_grad=True)
    out = runnable.forward({"input.1": x})  # 'batch' norm mode: training-form BN
    next(iter(out.values())).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    without_grad = {name for name, t in params.items() if t.grad is None}
    # only the stored BN statistics, which batch mode does not read
    stored = {n.input[i] for n in model.graph.node if n.op_type == "BatchNormalization"
              for i in (3, 4)}
    assert without_grad == stored
