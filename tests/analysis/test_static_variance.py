from __future__ import annotations

import math

import pytest
from static_graphs import chain, graph_of, linear, model_of, weight

from gradlint.analysis.static_graph import GraphShape
from gradlint.analysis.static_variance import absorbed_nodes, propagate
from gradlint.model import Layer, LayerKind


def signals(layers: list[Layer], names: list[str], extra: list[tuple[str, str]] = ()):
    graph = graph_of(layers, chain(names) + list(extra))
    return propagate(model_of(graph), GraphShape(graph))


def test_he_relu_layers_are_critical_and_keep_the_variance() -> None:
    result = signals([linear("a", activation="relu"), linear("b", activation="relu")], ["x", "a", "b"])
    assert result["a"].pre_activation_variance == pytest.approx(2.0, rel=1e-6)
    assert result["a"].chi == pytest.approx(1.0, rel=1e-3)
    assert result["b"].pre_activation_variance == pytest.approx(2.0, rel=1e-3)


def test_a_negative_bias_shifts_the_pre_activation_and_kills_units() -> None:
    result = signals([linear("a", activation="relu", bias_mean=-3.0)], ["x", "a"])
    assert result["a"].active_fraction == pytest.approx(0.5 * math.erfc(3 / 2), abs=1e-3)  # Phi(-3/sqrt 2)
    assert result["a"].centered_derivative_moment == pytest.approx(0.5, rel=1e-3)


def test_a_normalization_sets_the_scale_and_its_nodes_are_absorbed() -> None:
    norm = Layer("bn", LayerKind.NORM, weight=weight(0.0, 1, (100,), mean=1.0), normalization="batch_norm")
    act = Layer("relu", LayerKind.OTHER, activation="relu")
    layers = [linear("a", sigma_w=10.0, activation="relu", normalization="batch_norm"), norm, act]
    result = signals(layers, ["x", "a", "bn", "relu"])
    assert result["a"].normalized and result["a"].chi is None
    assert result["a"].pre_activation_variance == pytest.approx(1.0)
    assert result["relu"].absorbed_into == "a" and result["bn"].absorbed_into == "a"
    assert result["relu"].output_second_moment == pytest.approx(0.5, rel=1e-3)


def test_an_add_sums_its_inputs_second_moments() -> None:
    layers = [linear("stem"), linear("f"), Layer("add", LayerKind.ADD)]
    result = signals(layers, ["x", "stem", "f", "add"], [("stem", "add")])
    assert result["add"].output_second_moment == pytest.approx(
        result["stem"].output_second_moment + result["f"].output_second_moment
    )


def test_constant_weights_have_no_mean_field_gain() -> None:
    constant = Layer("a", LayerKind.LINEAR, fan_in=100, weight=weight(0.0, 100, mean=0.01), activation="relu")
    assert signals([constant], ["x", "a"])["a"].chi is None


def test_absorption_stops_at_a_branch() -> None:
    layers = [linear("a", activation="relu"), Layer("relu", LayerKind.OTHER, activation="relu"), linear("b")]
    graph = graph_of(layers, chain(["x", "a", "relu"]) + [("a", "b")])
    assert absorbed_nodes(GraphShape(graph)) == {}
