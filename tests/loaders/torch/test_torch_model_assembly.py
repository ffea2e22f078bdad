"""Inputs reach forward by position, so specs are put in forward's parameter order."""
from __future__ import annotations

import pytest
import torch

from gradlint.errors import ModelLoadError
from gradlint.loaders.torch.model_assembly import positional_order
from gradlint.model import InputSpec


class ThreeInputs(torch.nn.Module):
    def forward(self, ids: torch.Tensor, mask: torch.Tensor | None = None, types: torch.Tensor | None = None):
        return ids


def _specs(*names: str) -> tuple[InputSpec, ...]:
    return tuple(InputSpec(name, (2, 3), torch.float32) for name in names)


def test_dict_order_becomes_forward_order() -> None:
    ordered = positional_order(ThreeInputs(), _specs("mask", "ids"))
    assert [spec.name for spec in ordered] == ["ids", "mask"]


def test_a_gap_in_the_parameters_is_a_load_error() -> None:
    with pytest.raises(ModelLoadError, match=r"first parameters \(ids, mask\); got ids, types"):
        positional_order(ThreeInputs(), _specs("types", "ids"))


def test_variadic_forwards_keep_the_given_order() -> None:
    class Variadic(torch.nn.Module):
        def forward(self, *tensors: torch.Tensor) -> torch.Tensor:
            return tensors[0]

    assert [s.name for s in positional_order(Variadic(), _specs("b", "a"))] == ["b", "a"]
