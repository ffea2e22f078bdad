"""The backward probe: unit cotangents, gradient norms, the depth profile, parameter ratios."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from gradlint.analysis.probe import run_probes
from gradlint.analysis.probe.cotangents import unit_cotangents
from gradlint.analysis.probe.gradients import depth_profile
from gradlint.analysis.probe.runtime import generator
from gradlint.loaders.torch.module_runnable import ModuleRunnable
from gradlint.model import InputSpec, Layer, LayerGraph, LayerKind, LoadedModel
from gradlint.options import AnalysisOptions


def test_cotangents_are_unit_per_sample_across_outputs() -> None:
    outputs = (torch.zeros(3, 4), torch.zeros(3, 2, 2))
    cotangents, per_sample = unit_cotangents(outputs, 3, torch.Generator().manual_seed(0))
    assert per_sample
    squared = cotangents[0].pow(2).sum(1) + cotangents[1].pow(2).sum((1, 2))
    torch.testing.assert_close(squared, torch.ones(3))
    shared, per_sample = unit_cotangents((torch.zeros(3, 4), torch.zeros(5)), 3, torch.Generator().manual_seed(0))
    assert not per_sample
    assert sum(float(c.pow(2).sum()) for c in shared) == pytest.approx(3.0)


def _chain_model(module: nn.Module, shape: tuple[int, ...], kinds: dict[str, LayerKind]) -> LoadedModel:
    graph = LayerGraph()
    previous = None
    for name, kind in kinds.items():
        graph.add_layer(Layer(name, kind))
        if previous:
            graph.add_edge(previous, name)
        previous = name
    runnable = ModuleRunnable(module, ["x"], list(kinds))
    return LoadedModel("m", "python", runnable, (InputSpec("x", shape, torch.float64),), graph)


def test_gradient_norms_match_autograd_and_the_output_reads_one() -> None:
    torch.manual_seed(0)
    module = nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 3)).double()
    model = _chain_model(module, (4, 5), {"0": LayerKind.LINEAR, "1": LayerKind.OTHER, "2": LayerKind.LINEAR})
    result = run_probes(model, AnalysisOptions(seed=3))
    assert result.layer("2").grad_norm == pytest.approx(1.0, rel=1e-9)
    # Recompute by hand: the same cotangent, the gradient at the tanh output.
    x = torch.randn((4, 5), generator=torch.Generator().manual_seed(3), dtype=torch.float64).requires_grad_()
    hidden = torch.tanh(module[0](x))
    out = module[2](hidden)
    (u,), _ = unit_cotangents((out,), 4, generator(3, 0))  # the runner's cotangent stream
    (g,) = torch.autograd.grad(out, hidden, u)
    assert result.layer("1").grad_norm == pytest.approx(float(g.norm()) / 2, rel=1e-9)
    weight = next(p for p in result.parameters if p.name == "2.weight")
    assert weight.weight_norm == pytest.approx(float(module[2].weight.norm()), rel=1e-6)
    assert weight.ratio == pytest.approx(weight.grad_norm / weight.weight_norm)


def test_profile_divides_out_average_pooling() -> None:
    torch.manual_seed(0)
    module = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.AvgPool2d(8), nn.Flatten(), nn.Linear(4, 3)).double()
    kinds = {"0": LayerKind.CONV, "1": LayerKind.POOL, "3": LayerKind.LINEAR}
    result = run_probes(_chain_model(module, (3, 2, 8, 8), kinds), AnalysisOptions())
    conv, pool = result.layer("0"), result.layer("1")
    # An 8x8 average spreads each gradient over 64 positions: the norm drops by 8 exactly.
    assert conv.grad_norm == pytest.approx(pool.grad_norm / 8, rel=1e-9)
    assert conv.grad_profile == pytest.approx(pool.grad_profile, rel=1e-9)
    assert pool.grad_profile == pool.grad_norm


def test_depth_profile_only_corrects_layers_upstream_of_a_pool() -> None:
    profile = depth_profile(["a", "p", "b"], {"a": 1.0, "p": 4.0, "b": 4.0}, {"p": 4.0}, {"p": {"a"}})
    assert profile == {"a": 4.0, "p": 4.0, "b": 4.0}
    assert math.isnan(depth_profile(["a"], {"a": float("nan")}, {}, {})["a"])


def test_norm_of_finite_entries_whose_squares_overflow_is_finite() -> None:
    """A causal mask at float32's lowest value is finite; its norm must be too."""
    from gradlint.analysis.probe.capture import tensor_norm

    mask = torch.full((4, 4), torch.finfo(torch.float32).min).triu(1)
    assert float(tensor_norm(mask)) == pytest.approx(math.sqrt(6) * 3.4028234663852886e38, rel=1e-6)
    assert math.isinf(float(tensor_norm(torch.tensor([1.0, float("inf")]))))
