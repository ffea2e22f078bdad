"""Hand-built LayerGraphs for the static-analysis unit tests."""
from __future__ import annotations

import math

from gradlint.model import InputSpec, Layer, LayerGraph, LayerKind, LoadedModel, WeightStats

import torch


def weight(std: float, fan_in: int, shape: tuple[int, ...] | None = None, mean: float = 0.0) -> WeightStats:
    return WeightStats(
        shape=shape or (fan_in, fan_in),
        mean=mean,
        std=std,
        scaled_std=std * math.sqrt(fan_in),
        abs_max=abs(mean) + 3 * std,
        zero_fraction=0.0,
    )


def linear(name: str, sigma_w: float = math.sqrt(2), fan_in: int = 100, **fields: object) -> Layer:
    return Layer(name, LayerKind.LINEAR, ("linear",), fan_in=fan_in, fan_out=fan_in,
                 weight=weight(sigma_w / math.sqrt(fan_in), fan_in), **fields)


def graph_of(layers: list[Layer], edges: list[tuple[str, str]]) -> LayerGraph:
    graph = LayerGraph()
    graph.add_layer(Layer("x", LayerKind.INPUT))
    for layer in layers:
        graph.add_layer(layer)
    for source, target in edges:
        graph.add_edge(source, target)
    return graph


def chain(names: list[str]) -> list[tuple[str, str]]:
    return list(zip(names[:-1], names[1:]))


def model_of(graph: LayerGraph) -> LoadedModel:
    return LoadedModel("test", "python", None, (InputSpec("x", (8, 100), torch.float32),), graph)
