"""Batch-following reshapes: a static-batch export runs on fewer samples, unchanged at its own."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
import torch
from onnx import helper
from onnx_graphs import float_input, model, save, tensor

from gradlint.analysis.probe import run_probes
from gradlint.loaders import load_model
from gradlint.loaders.onnx.batch_reshapes import batch_following_targets, static_batch
from gradlint.loaders.onnx.executor import build_runnable
from gradlint.loaders.onnx.interpreter import OnnxExecutionError
from gradlint.options import AnalysisOptions

BATCH, TOKENS, WIDTH = 4, 3, 6


def _token_mlp(batch: int | str = BATCH, allowzero: int = 1) -> onnx.ModelProto:
    """[B, T, W] -> flatten tokens with the batch -> Gemm -> Tanh -> [B, T, heads, -1] -> back."""
    rng = np.random.default_rng(0)
    nodes = [
        helper.make_node("Reshape", ["x", "flat"], ["rows"], allowzero=allowzero),
        helper.make_node("Gemm", ["rows", "w"], ["h"]),
        helper.make_node("Tanh", ["h"], ["a"]),
        helper.make_node("Reshape", ["a", "split"], ["heads"], allowzero=allowzero),
        helper.make_node("Reshape", ["heads", "back"], ["y"], allowzero=allowzero),
    ]
    rows = BATCH * TOKENS if isinstance(batch, int) else -1
    lead = BATCH if isinstance(batch, int) else -1
    initializers = [
        tensor("w", (rng.standard_normal((WIDTH, WIDTH)) / WIDTH**0.5).astype(np.float32)),
        tensor("flat", np.array([rows, WIDTH], np.int64)),
        tensor("split", np.array([lead, TOKENS, 2, -1] if lead > 0 else [-1, TOKENS, 2, WIDTH // 2], np.int64)),
        tensor("back", np.array([lead, TOKENS, WIDTH] if lead > 0 else [-1, TOKENS, WIDTH], np.int64)),
    ]
    proto = model(nodes, [float_input("x", [batch, TOKENS, WIDTH])], ["y"], initializers)
    return onnx.shape_inference.infer_shapes(proto)


def _runnable(proto: onnx.ModelProto):
    runnable, notes = build_runnable(proto)
    assert runnable is not None, notes
    return runnable


def test_targets_follow_the_batch_only_for_static_batch_models() -> None:
    targets = batch_following_targets(_token_mlp().graph)
    assert sorted(target for target, _ in targets.values()) == [(-1, 3, 2, 3), (-1, 3, 6), (-1, 6)]
    assert static_batch(_token_mlp("N").graph) is None and batch_following_targets(_token_mlp("N").graph) == {}


@pytest.mark.parametrize("allowzero", [0, 1])
def test_one_sample_runs_and_gives_its_rows_of_the_batch(allowzero: int) -> None:
    runnable = _runnable(_token_mlp(allowzero=allowzero))
    x = torch.randn(BATCH, TOKENS, WIDTH, generator=torch.Generator().manual_seed(1))
    full = runnable.forward({"x": x})["y"]
    one = runnable.forward({"x": x[:1]})["y"]
    assert one.shape == (1, TOKENS, WIDTH)
    assert torch.equal(one, full[:1])


def test_the_declared_batch_is_computed_as_the_file_says() -> None:
    proto = _token_mlp()
    runnable = _runnable(proto)
    x = torch.randn(BATCH, TOKENS, WIDTH, generator=torch.Generator().manual_seed(2))
    reference = x.reshape(-1, WIDTH) @ torch.tensor(onnx.numpy_helper.to_array(proto.graph.initializer[0]))
    assert torch.allclose(runnable.forward({"x": x})["y"], reference.tanh().reshape(x.shape), atol=1e-6)
    with pytest.raises(OnnxExecutionError, match="Reshape"):  # more samples than declared: refused
        runnable.forward({"x": torch.zeros(2 * BATCH, TOKENS, WIDTH)})


def test_the_probe_solves_one_sample_of_a_static_batch_export(tmp_path: Path) -> None:
    path = save(_token_mlp(), tmp_path / "static.onnx")
    options = AnalysisOptions(batch_size=BATCH)
    result = run_probes(load_model(str(path), options), options)
    assert result.extra["end_to_end_samples"] == 1 and result.end_to_end_converged


def _masked(batch: int = BATCH) -> onnx.ModelProto:
    """y = Where(mask, tanh(x), 0) with a folded [B, T, W] mask whose B slices are equal."""
    mask = np.broadcast_to(np.tril(np.ones((TOKENS, WIDTH), bool)), (batch, TOKENS, WIDTH)).copy()
    nodes = [helper.make_node("Tanh", ["x"], ["t"]), helper.make_node("Where", ["mask", "t", "zero"], ["y"])]
    initializers = [tensor("mask", mask), tensor("zero", np.zeros((), np.float32))]
    return onnx.shape_inference.infer_shapes(model(nodes, [float_input("x", [batch, TOKENS, WIDTH])], ["y"], initializers))


def test_batch_sized_constants_broadcast_from_one_slice_on_fewer_samples(tmp_path: Path) -> None:
    runnable = _runnable(_masked())
    x = torch.randn(BATCH, TOKENS, WIDTH, generator=torch.Generator().manual_seed(3))
    full = runnable.forward({"x": x})["y"]
    assert full.shape == x.shape and torch.equal(runnable.forward({"x": x[:1]})["y"], full[:1])
    options = AnalysisOptions(batch_size=BATCH)
    result = run_probes(load_model(str(save(_masked(), tmp_path / "masked.onnx")), options), options)
    assert result.extra["end_to_end_samples"] == 1
