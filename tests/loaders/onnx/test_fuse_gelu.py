"""GELU spelled out in elementwise ops runs as one torch GELU, and only where it is one."""
from __future__ import annotations

import math

import numpy as np
import onnxruntime as ort
import pytest
import torch
from onnx import helper

from gradlint.loaders.onnx.executor import build_runnable
from tests.loaders.onnx.onnx_graphs import float_input, model, tensor

WIDTH = 6


def _scalar(name: str, value: float):
    return tensor(name, np.array(value, dtype=np.float32))


def tanh_gelu(cubic: float = 0.044715, extra_output: str | None = None):
    """GPT-2's gelu_new as torch's dynamo exporter spells it: 8 nodes after a MatMul."""
    nodes = [
        helper.make_node("MatMul", ["x", "w"], ["h"]),
        helper.make_node("Mul", ["h", "half"], ["a"]),
        helper.make_node("Pow", ["h", "three"], ["p"]),
        helper.make_node("Mul", ["p", "cubic"], ["q"]),
        helper.make_node("Add", ["h", "q"], ["s"]),
        helper.make_node("Mul", ["s", "root"], ["r"]),
        helper.make_node("Tanh", ["r"], ["t"]),
        helper.make_node("Add", ["t", "one"], ["u"]),
        helper.make_node("Mul", ["a", "u"], ["y"]),
    ]
    scalars = [_scalar("half", 0.5), _scalar("three", 3.0), _scalar("cubic", cubic),
               _scalar("root", math.sqrt(2 / math.pi)), _scalar("one", 1.0)]
    weight = tensor("w", np.random.default_rng(0).normal(size=(WIDTH, WIDTH)).astype(np.float32))
    outputs = ["y"] + ([extra_output] if extra_output else [])
    return model(nodes, [float_input("x", [2, WIDTH])], outputs, [weight, *scalars])


def erf_gelu():
    """BERT's GELU: x * 0.5 * (1 + erf(x / sqrt(2))), operands in the other order."""
    nodes = [
        helper.make_node("Div", ["x", "sqrt2"], ["d"]),
        helper.make_node("Erf", ["d"], ["e"]),
        helper.make_node("Add", ["one", "e"], ["u"]),
        helper.make_node("Mul", ["x", "u"], ["m"]),
        helper.make_node("Mul", ["m", "half"], ["y"]),
    ]
    scalars = [_scalar("sqrt2", math.sqrt(2)), _scalar("one", 1.0), _scalar("half", 0.5)]
    return model(nodes, [float_input("x", [2, WIDTH])], ["y"], scalars)


def _run(proto, x: np.ndarray):
    runnable, diagnostics = build_runnable(proto)
    assert runnable is not None, diagnostics
    outputs = runnable.forward({"x": torch.from_numpy(x)})
    reference = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})
    return runnable, outputs, reference


@pytest.mark.parametrize(("build", "approximate"), [(tanh_gelu, "tanh"), (erf_gelu, "none")])
def test_spelled_out_gelu_runs_as_one_node_with_onnxruntimes_values(build, approximate) -> None:
    x = np.random.default_rng(1).normal(scale=3.0, size=(2, WIDTH)).astype(np.float32)
    runnable, outputs, reference = _run(build(), x)
    fused = [n for n in runnable._program.nodes if "fused" in n.attrs]
    assert [n.attrs["fused"] for n in fused] == [f"gelu({approximate})"]
    assert len(runnable._program.nodes) == (2 if build is tanh_gelu else 1)
    np.testing.assert_allclose(outputs["y"].numpy(), reference[0], rtol=1e-5, atol=1e-6)


def test_fused_gelu_scalars_are_not_parameters_and_weights_still_are() -> None:
    runnable, _ = build_runnable(tanh_gelu())
    assert [name for name, _ in runnable.named_parameters()] == ["w"]


def test_a_near_gelu_with_another_constant_is_left_as_written() -> None:
    x = np.random.default_rng(2).normal(scale=3.0, size=(2, WIDTH)).astype(np.float32)
    runnable, outputs, reference = _run(tanh_gelu(cubic=0.03), x)
    assert not any("fused" in n.attrs for n in runnable._program.nodes)
    np.testing.assert_allclose(outputs["y"].numpy(), reference[0], rtol=1e-5, atol=1e-6)


def test_a_gelu_whose_inner_value_is_read_outside_is_left_as_written() -> None:
    """Parity localisation exposes every node's output: each of those values must exist."""
    x = np.random.default_rng(3).normal(size=(2, WIDTH)).astype(np.float32)
    runnable, outputs, reference = _run(tanh_gelu(extra_output="t"), x)
    assert not any("fused" in n.attrs for n in runnable._program.nodes)
    np.testing.assert_allclose(outputs["t"].numpy(), reference[1], rtol=1e-5, atol=1e-6)


def test_fused_gelu_differentiates_twice() -> None:
    runnable, _ = build_runnable(erf_gelu())
    x = torch.randn(2, WIDTH, dtype=torch.float32, requires_grad=True)
    (grad,) = torch.autograd.grad(runnable.forward({"x": x})["y"].sum(), x, create_graph=True)
    (second,) = torch.autograd.grad(grad.sum(), x)
    expected = torch.func.vmap(torch.func.grad(torch.func.grad(lambda v: torch.nn.functional.gelu(v))))(x.detach().reshape(-1))
    torch.testing.assert_close(second.reshape(-1), expected, rtol=1e-4, atol=1e-5)
