from __future__ import annotations

from static_graphs import chain, graph_of, linear

from gradlint.analysis.static_graph import GraphShape
from gradlint.model import Layer, LayerKind


def residual_graph() -> GraphShape:
    """x -> stem -> [fc1 -> relu -> fc2] + stem -> head."""
    layers = [linear("stem"), linear("fc1", activation="relu"), Layer("relu", LayerKind.OTHER, activation="relu"),
              linear("fc2"), Layer("add", LayerKind.ADD), linear("head")]
    edges = chain(["x", "stem", "fc1", "relu", "fc2", "add", "head"]) + [("stem", "add")]
    return GraphShape(graph_of(layers, edges))


def test_main_path_is_what_every_path_runs_through() -> None:
    shape = residual_graph()
    assert shape.main_path == ("x", "stem", "add", "head")
    assert shape.longest_weight_path == 4


def test_a_residual_merge_has_its_fork_branch_and_identity_skip() -> None:
    (merge,) = residual_graph().residual_merges
    assert (merge.merge, merge.fork, merge.skip_input) == ("add", "stem", "stem")
    assert merge.branch == ("fc1", "relu", "fc2") and merge.skip == ()


def test_a_projection_shortcut_is_a_skip_when_shallower_than_the_branch() -> None:
    layers = [linear("a"), linear("b1"), linear("b2"), linear("proj"), Layer("add", LayerKind.ADD)]
    edges = chain(["x", "a", "b1", "b2", "add"]) + [("a", "proj"), ("proj", "add")]
    (merge,) = GraphShape(graph_of(layers, edges)).residual_merges
    assert merge.skip == ("proj",) and merge.branch == ("b1", "b2")


def test_sums_of_sources_and_of_equal_branches_are_not_residual() -> None:
    layers = [Layer("tok", LayerKind.EMBEDDING), Layer("pos", LayerKind.EMBEDDING), Layer("sum", LayerKind.ADD),
              linear("a"), linear("b"), Layer("add", LayerKind.ADD)]
    edges = [("x", "tok"), ("tok", "sum"), ("pos", "sum"), ("sum", "a"), ("sum", "b"), ("a", "add"), ("b", "add")]
    assert GraphShape(graph_of(layers, edges)).residual_merges == ()
