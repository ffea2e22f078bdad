"""Small PyTorch blocks the probe tests measure, and the exact answers to compare with.

Exact sigma_max comes from the explicit Jacobian (torch.autograd.functional.jacobian) and a
dense SVD, under the probe's semantics (batch statistics, eval otherwise).
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from gradlint.loaders.torch.module_runnable import ModuleRunnable, default_layer_paths, hook_layer_graph
from gradlint.loaders.torch.module_semantics import probe_semantics
from gradlint.model import InputSpec, LoadedModel


class ConvBlock(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.block = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU())
        self.pool = nn.AvgPool2d(2)
        self.head = nn.Conv2d(4, 2, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.pool(self.block(x)))


class Attention(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True)
        self.norm = nn.LayerNorm(8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x + self.attn(x, x, x)[0])


class Recurrent(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lstm = nn.LSTM(5, 6, batch_first=True)
        self.head = nn.Linear(6, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(torch.tanh(self.lstm(x)[0]))


def mlp(depth: int = 3, width: int = 6) -> nn.Sequential:
    layers: list[nn.Module] = []
    for _ in range(depth):
        layers += [nn.Linear(width, width), nn.Tanh()]
    return nn.Sequential(*layers, nn.Linear(width, 2))


CASES = {
    # name: (module factory, input shape, extra layer paths beyond the default ones)
    "conv": (ConvBlock, (3, 3, 6, 6), ["block"]),
    "mlp": (mlp, (4, 6), []),
    "attention": (Attention, (2, 4, 8), ["attn"]),
    "lstm": (Recurrent, (2, 4, 5), []),
}


def loaded(name: str, seed: int = 0) -> LoadedModel:
    factory, shape, extra = CASES[name]
    torch.manual_seed(seed)
    module = factory().double()
    paths = default_layer_paths(module) + extra
    example = torch.randn(shape, dtype=torch.float64)
    graph = hook_layer_graph(module, [example])
    runnable = ModuleRunnable(module, ["x"], paths)
    spec = InputSpec("x", shape, torch.float64)
    return LoadedModel(name, "python", runnable, (spec,), graph, source=module)


def exact_sigma(function, inputs: Sequence[torch.Tensor]) -> float:
    """Largest singular value of the explicit Jacobian of `function` at `inputs`."""
    inputs = tuple(x.detach() for x in inputs)
    jac = torch.autograd.functional.jacobian(lambda *xs: function(*xs), inputs)
    out_size = function(*inputs).numel()
    matrix = torch.cat([j.reshape(out_size, -1) for j in jac], dim=1)
    return float(torch.linalg.matrix_norm(matrix, ord=2))


def exact_end_to_end(model: LoadedModel, x: torch.Tensor) -> float:
    module = model.source

    def outputs(value: torch.Tensor) -> torch.Tensor:
        with probe_semantics(module, "batch"):
            return module(value).reshape(-1)

    return exact_sigma(outputs, [x])
