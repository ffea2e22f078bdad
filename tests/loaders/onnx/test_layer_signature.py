"""Layers that compute the same function up to their weights share a signature; others not."""
from __future__ import annotations

import torch

from gradlint.loaders.onnx.compiled_node import CompiledNode
from gradlint.loaders.onnx.layer_signature import layer_signature
from gradlint.loaders.onnx.layer_taps import LayerPlan, LayerSnapshot
from gradlint.loaders.onnx.program import Program

SHAPE = torch.Size([8, 16, 16])


def _node(name: str, op: str, inputs: tuple[str, ...], output: str, **attrs) -> CompiledNode:
    return CompiledNode(name, op, "", 17, None, inputs, (output,), dict(attrs))


def _mlp(prefix: str, target: str = "target", activation: str = "Gelu") -> LayerPlan:
    """x -> Reshape(x, target) -> MatMul(w) -> activation."""
    nodes = (
        _node(f"{prefix}/reshape", "Reshape", ("x", target), f"{prefix}/rows"),
        _node(f"{prefix}/matmul", "MatMul", (f"{prefix}/rows", f"{prefix}/w"), f"{prefix}/z"),
        _node(f"{prefix}/act", activation, (f"{prefix}/z",), f"{prefix}/y", approximate="none"),
    )
    return LayerPlan(prefix, f"{prefix}/y", nodes, ("x", target))


def _signature(plan: LayerPlan, initializers: dict, frozen: dict | None = None):
    snapshot = LayerSnapshot(("x",), frozen or {}, (SHAPE,))
    return layer_signature(plan, snapshot, initializers)


def _weights(**extra: torch.Tensor) -> dict[str, torch.Tensor]:
    generator = torch.Generator().manual_seed(0)
    weights = {
        f"{name}/w": torch.randn(16, 6, generator=generator) for name in ("a", "b", "c")
    }
    return {**weights, "target": torch.tensor([-1, 16]), "other": torch.tensor([-1, 8, 2]), **extra}


def test_layers_equal_up_to_weights_share_a_signature() -> None:
    weights = _weights()
    assert _signature(_mlp("a"), weights) == _signature(_mlp("b"), weights)
    assert not torch.equal(weights["a/w"], weights["b/w"])


def test_integer_values_attributes_and_shapes_separate_layers() -> None:
    weights = _weights(**{"c/w": torch.randn(16, 5)})
    reference = _signature(_mlp("a"), weights)
    assert _signature(_mlp("b", target="other"), weights) != reference  # another reshape target
    assert _signature(_mlp("b", activation="Relu"), weights) != reference
    assert _signature(_mlp("c"), weights) != reference  # another weight shape
    snapshot = LayerSnapshot(("x",), {}, (torch.Size([8, 16, 8, 2]),))
    assert layer_signature(_mlp("a"), snapshot, weights) != reference


def test_a_pruned_weight_or_a_different_frozen_mask_is_not_shared() -> None:
    weights = _weights()
    weights["b/w"] = weights["b/w"].clone()
    weights["b/w"][0] = 0.0
    assert _signature(_mlp("a"), weights) != _signature(_mlp("b"), weights)
    masked = LayerPlan("m", "y", (_node("m/where", "Where", ("mask", "x", "zero"), "y"),), ("x", "mask"))
    weights["zero"] = torch.zeros(())
    causal = {"mask": torch.ones(16, 16).tril().bool()}
    full = {"mask": torch.ones(16, 16).bool()}
    assert _signature(masked, weights, causal) == _signature(masked, weights, {"mask": causal["mask"].clone()})
    assert _signature(masked, weights, causal) != _signature(masked, weights, full)


def test_control_flow_gets_no_signature() -> None:
    loop = CompiledNode("loop", "Loop", "", 17, None, ("n", "", "x"), ("y",), {}, (Program.__new__(Program),))
    plan = LayerPlan("loop", "y", (loop,), ("x",))
    assert _signature(plan, {}) is None


def test_an_odd_exact_zero_of_a_random_init_is_not_a_pattern_and_expanded_masks_hash_compactly() -> None:
    weights = _weights(**{"a/w": torch.randn(16, 100), "b/w": torch.randn(16, 100)})
    weights["b/w"][3, 7] = 0.0  # 1 of 1600 entries: float32 normal draws do this
    assert _signature(_mlp("a"), weights) == _signature(_mlp("b"), weights)
    masked = LayerPlan("m", "y", (_node("m/where", "Where", ("mask", "x", "zero"), "y"),), ("x", "mask"))
    weights["zero"] = torch.zeros(())
    row = torch.tensor([True, False, True])
    across = {"mask": row.expand(3, 3)}
    down = {"mask": row[:, None].expand(3, 3)}  # the same three values, transposed
    assert _signature(masked, weights, across) != _signature(masked, weights, down)
    assert _signature(masked, weights, across) == _signature(masked, weights, {"mask": row.clone().expand(3, 3)})
