from __future__ import annotations

import math

import pytest
from static_graphs import chain, graph_of, linear, model_of

from gradlint.analysis.static import static_facts, static_facts_or_diagnostic
from gradlint.analysis.static_paths import BATCHNORM_RELU_GAIN
from gradlint.model import Layer, LayerKind


def relu_stack(depth: int, sigma_w: float, width: int = 100):
    names = [f"fc{i}" for i in range(depth)]
    layers = [linear(n, sigma_w=sigma_w, fan_in=width, activation="relu") for n in names]
    return static_facts(model_of(graph_of(layers, chain(["x", *names]))))


def test_a_plain_stack_compounds_chi_between_its_first_and_last_layer() -> None:
    facts = relu_stack(6, sigma_w=1.0)  # half He: chi = 1/2 per step
    (stack,) = facts.plain_stacks
    assert stack.layers == tuple(f"fc{i}" for i in range(6))
    assert stack.gain() == pytest.approx(0.5**5, rel=1e-3)
    assert facts.predicted_gain == pytest.approx(0.5**5, rel=1e-3)


def test_hanin_beta_sums_inverse_widths_of_hidden_relu_layers() -> None:
    facts = relu_stack(5, sigma_w=math.sqrt(2), width=10)
    assert facts.hanin_beta == pytest.approx(4 / 10)


def test_batchnorm_relu_layers_on_the_main_path_are_listed_and_predict_yang_growth() -> None:
    names = [f"fc{i}" for i in range(4)]
    layers = [linear(n, activation="relu", normalization="batch_norm") for n in names]
    facts = static_facts(model_of(graph_of(layers, chain(["x", *names]))))
    assert facts.batchnorm_relu_layers == tuple(names)
    assert facts.plain_stacks == ()
    assert facts.predicted_gain == pytest.approx(BATCHNORM_RELU_GAIN**4)


def test_residual_sums_know_normalized_branches_and_stream_growth() -> None:
    norm = Layer("ln", LayerKind.NORM, normalization="layer_norm")
    layers = [linear("stem"), norm, linear("f"), Layer("add", LayerKind.ADD), linear("g"), Layer("add2", LayerKind.ADD)]
    edges = chain(["x", "stem", "ln", "f", "add", "g", "add2"]) + [("stem", "add"), ("add", "add2")]
    facts = static_facts(model_of(graph_of(layers, edges)))
    first, second = facts.residual_sums
    assert first.normalized and not second.normalized
    assert second.growth == pytest.approx(1 + 2.0, rel=1e-6)  # He linear branch: sigma_w^2 = 2
    assert facts.unscaled_residual_merges == 1 and facts.skip_merges == 2
    assert facts.layers["f"].in_residual_branch and not facts.layers["add"].in_residual_branch


def test_a_graph_the_analysis_cannot_read_becomes_a_diagnostic() -> None:
    class Broken:
        graph = None
        inputs = ()

    facts, notes = static_facts_or_diagnostic(Broken())
    assert facts is None and notes[0].kind == "static-failed"
