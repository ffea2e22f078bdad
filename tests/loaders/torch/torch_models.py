"""Small PyTorch models and saved artifacts shared by the PyTorch loader tests."""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

REPO = Path(__file__).resolve().parents[3]
SMALL_CNN = REPO / "fixtures" / "torch_factories" / "small_cnn.py"


def small_cnn() -> tuple[nn.Module, torch.Tensor]:
    """The fixture factory's model (conv + BN + relu + conv residual + linear), in eval mode."""
    from gradlint.loaders.torch.factory import call_factory, parse_factory_target

    target = parse_factory_target(f"{SMALL_CNN}:build")
    assert target is not None
    module, example = call_factory(target)
    return module.eval(), example


class Block(nn.Module):
    """A residual block whose ReLU module is called twice."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.relu(self.fc(x))
        return self.relu(y + x)


class Nested(nn.Module):
    """ModuleList, Sequential, a reused module, a chunk and a concatenation."""

    def __init__(self) -> None:
        super().__init__()
        self.blocks = nn.ModuleList([Block(), Block()])
        self.head = nn.Sequential(nn.Linear(4, 4), nn.Tanh())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for block in self.blocks:
            x = block(x)
        left, right = x.chunk(2, dim=1)
        return torch.cat([self.head(x), left, right], dim=1)


class TokenModel(nn.Module):
    """Token ids into an embedding, then a linear head."""

    def __init__(self, vocab: int = 37) -> None:
        super().__init__()
        self.embed = nn.Embedding(vocab, 8)
        self.other = nn.Embedding(5, 8)  # a smaller table the ids never index
        self.head = nn.Linear(8, 3)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.head(self.embed(input_ids))


class DataDependent(nn.Module):
    """Python control flow on a tensor value: torch.export cannot trace it."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.act = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.fc(x)
        if y.sum() > 0:
            return self.act(y)
        return y
