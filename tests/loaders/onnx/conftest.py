"""Shared helpers for the ONNX loader tests: tiny models and onnxruntime comparisons."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from onnx import helper

from gradlint.loaders.onnx.executor import build_runnable

def make_model(
    nodes: Sequence[onnx.NodeProto],
    inputs: dict[str, np.ndarray],
    outputs: Sequence[str],
    opset: int = 17,
    initializers: dict[str, np.ndarray] | None = None,
) -> onnx.ModelProto:
    """A model whose graph inputs are typed like the given arrays; outputs untyped."""
    graph = helper.make_graph(
        list(nodes),
        "test",
        [helper.make_tensor_value_info(name, _elem_type(a), a.shape) for name, a in inputs.items()],
        [helper.make_empty_tensor_value_info(name) for name in outputs],
        [onnx.numpy_helper.from_array(a, name) for name, a in (initializers or {}).items()],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], ir_version=8)


def _elem_type(array: np.ndarray) -> int:
    return helper.np_dtype_to_tensor_dtype(array.dtype)


def run_ort(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
    options = ort.SessionOptions()
    options.log_severity_level = 3
    session = ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )
    return session.run(None, feeds)


def run_executor(
    model: onnx.ModelProto, feeds: dict[str, np.ndarray], norm_mode: str = "running"
) -> list[torch.Tensor]:
    runnable, diagnostics = build_runnable(model)
    assert runnable is not None, diagnostics
    runnable.set_norm_mode(norm_mode)
    with torch.no_grad():
        out = runnable.forward({k: torch.from_numpy(np.array(v)) for k, v in feeds.items()})
    return [out[name] for name in runnable.graph_outputs]


def relative_error(ours: np.ndarray, reference: np.ndarray) -> float:
    """max|a-b| / max|b|, the parity measure used throughout gradlint."""
    if reference.size == 0:
        return 0.0
    scale = max(float(np.abs(reference).max()), 1e-30)
    return float(np.abs(ours.astype(np.float64) - reference.astype(np.float64)).max()) / scale


def assert_matches_ort(model: onnx.ModelProto, feeds: dict[str, np.ndarray], tol: float = 1e-5):
    """Every output equal to onnxruntime's: same shape; floats within `tol` relative error."""
    reference = run_ort(model, feeds)
    ours = run_executor(model, feeds)
    assert len(ours) == len(reference)
    for got, want in zip(ours, reference):
        got_np = got.detach().cpu().numpy()
        assert got_np.shape == want.shape, (got_np.shape, want.shape)
        if np.issubdtype(want.dtype, np.floating):
            assert relative_error(got_np, want) <= tol
        else:
            np.testing.assert_array_equal(got_np, want)


def check_node(
    op_type: str,
    inputs: dict[str, np.ndarray | None],
    attrs: dict | None = None,
    opset: int = 17,
    outputs: int = 1,
    initializers: dict[str, np.ndarray] | None = None,
    tol: float = 1e-5,
) -> None:
    """One `op_type` node fed `inputs` (None = omitted optional input) matches onnxruntime."""
    names = [name if value is not None else "" for name, value in inputs.items()]
    while names and not names[-1]:
        names.pop()
    feeds = {name: value for name, value in inputs.items() if value is not None}
    out_names = [f"out{i}" for i in range(outputs)]
    node = helper.make_node(op_type, names + list(initializers or {}), out_names, **(attrs or {}))
    model = make_model([node], feeds, out_names, opset, initializers)
    assert_matches_ort(model, feeds, tol)


@dataclass(frozen=True)
class OnnxHelpers:
    """The helpers above, handed to tests as the `onnx_helpers` fixture."""

    make_model: Callable[..., onnx.ModelProto] = make_model
    run_ort: Callable[..., list] = run_ort
    run_executor: Callable[..., list] = run_executor
    relative_error: Callable[..., float] = relative_error
    assert_matches_ort: Callable[..., None] = assert_matches_ort
    check_node: Callable[..., None] = check_node


@pytest.fixture
def onnx_helpers() -> OnnxHelpers:
    return OnnxHelpers()
