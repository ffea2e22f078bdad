"""Small ONNX models for the end-to-end integration tests (CLI outputs, pre-commit, pytest).

`example_model` copies one of the bundled examples (fixtures/examples: the deep sigmoid net
that vanishes, the healthy ReLU net); `unsupported_op_model` fails with GL901 whatever the
gradient rules say; `healthy_model` is a small He-initialised ReLU MLP.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

WIDTH = 16
EXAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "examples"


def example_model(name: str, path: Path) -> Path:
    """`deep_sigmoid_mlp` or `healthy_relu_mlp`, copied to `path`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(EXAMPLES / f"{name}.onnx", path)
    return path


def _save(nodes: list[onnx.NodeProto], initializers: list[onnx.TensorProto], path: Path,
          domains: tuple[str, ...] = ()) -> Path:
    graph = helper.make_graph(
        nodes, path.stem,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", WIDTH])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", WIDTH])],
        initializers,
    )
    opsets = [helper.make_opsetid("", 17), *(helper.make_opsetid(domain, 1) for domain in domains)]
    path.parent.mkdir(parents=True, exist_ok=True)
    # IR 8 is what opset 17 shipped with; onnxruntime refuses IR versions newer than it knows.
    onnx.save(helper.make_model(graph, opset_imports=opsets, ir_version=8), path)
    return path


def _gemm(index: int, source: str, target: str, rng: np.random.Generator) -> tuple[onnx.NodeProto, list[onnx.TensorProto]]:
    weight = rng.normal(0.0, np.sqrt(2.0 / WIDTH), size=(WIDTH, WIDTH)).astype(np.float32)
    tensors = [numpy_helper.from_array(weight, f"fc{index}.weight"),
               numpy_helper.from_array(np.zeros(WIDTH, np.float32), f"fc{index}.bias")]
    node = helper.make_node("Gemm", [source, f"fc{index}.weight", f"fc{index}.bias"], [target],
                            name=f"/fc{index}/Gemm", transB=1)
    return node, tensors


def healthy_model(path: Path, depth: int = 3) -> Path:
    rng = np.random.default_rng(0)
    nodes, tensors, current = [], [], "x"
    for index in range(depth):
        gemm, weights = _gemm(index, current, f"h{index}", rng)
        current = f"a{index}" if index < depth - 1 else "y"
        nodes += [gemm, helper.make_node("Relu", [f"h{index}"], [current], name=f"/act{index}/Relu")]
        tensors += weights
    return _save(nodes, tensors, path)


def unsupported_op_model(path: Path) -> Path:
    """A Gemm followed by an op from a domain no executor knows: GL901 unsupported-op."""
    gemm, tensors = _gemm(0, "x", "h0", np.random.default_rng(0))
    mystery = helper.make_node("Mystery", ["h0"], ["y"], name="/mystery/Mystery", domain="com.example")
    return _save([gemm, mystery], tensors, path, domains=("com.example",))
