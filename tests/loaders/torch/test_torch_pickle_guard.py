"""Pickled whole modules are refused unless trusted; state dicts point at factories."""
from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from gradlint.errors import ModelLoadError, UnsafeModelError
from gradlint.loaders.torch.pickle_guard import load_pickled_module


class WritesAFile:
    """Unpickling this calls os.system, which creates `path`."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple:
        return (os.system, (f"touch {self.path}",))


@pytest.mark.parametrize("legacy", [False, True])
def test_a_malicious_pickle_is_refused_and_never_runs(tmp_path: Path, legacy: bool) -> None:
    marker = tmp_path / "pwned"
    model = tmp_path / "model.pt"
    torch.save({"weight": torch.ones(2), "payload": WritesAFile(marker)}, model,
               _use_new_zipfile_serialization=not legacy)
    with pytest.raises(UnsafeModelError, match="unpickling runs code from the file") as refusal:
        load_pickled_module(model, trust_pickle=False)
    assert not marker.exists()
    assert "\n" not in refusal.value.one_line()
    assert refusal.value.code == "unsafe"


def test_a_pickled_module_loads_only_when_trusted(saved_forms: dict[str, Path]) -> None:
    with pytest.raises(UnsafeModelError, match="--trust-pickle"):
        load_pickled_module(saved_forms["pickle"], trust_pickle=False)
    module = load_pickled_module(saved_forms["pickle"], trust_pickle=True)
    assert isinstance(module, torch.nn.Module)
    assert {name for name, _ in module.named_children()} >= {"conv", "bn", "fc"}


@pytest.mark.parametrize("trust", [False, True])
def test_a_state_dict_asks_for_a_factory(saved_forms: dict[str, Path], trust: bool) -> None:
    with pytest.raises(ModelLoadError, match="state dict.*factory"):
        load_pickled_module(saved_forms["state_dict"], trust_pickle=trust)


def test_a_nested_checkpoint_is_a_state_dict(tmp_path: Path) -> None:
    path = tmp_path / "checkpoint.pt"
    torch.save({"model": {"fc.weight": torch.ones(2, 2)}, "epoch": 3}, path)
    with pytest.raises(ModelLoadError, match="state dict"):
        load_pickled_module(path, trust_pickle=False)


def test_a_tensor_is_not_a_model(tmp_path: Path) -> None:
    path = tmp_path / "tensor.pt"
    torch.save(torch.zeros(3), path)
    with pytest.raises(ModelLoadError, match="holds a Tensor, not a model"):
        load_pickled_module(path, trust_pickle=True)


def test_a_trusted_pickle_of_something_else_is_not_a_module(tmp_path: Path) -> None:
    path = tmp_path / "thing.pt"
    torch.save({"optimizer": torch.optim.SGD([torch.nn.Parameter(torch.ones(1))], lr=0.1)}, path)
    with pytest.raises(ModelLoadError, match="not an nn.Module"):
        load_pickled_module(path, trust_pickle=True)
