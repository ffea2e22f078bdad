"""Artifacts of the small CNN in every PyTorch form, saved once per session."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from torch_models import small_cnn


@pytest.fixture(scope="session")
def saved_forms(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The small CNN as .pt2, TorchScript, a pickled module and a state dict."""
    folder = tmp_path_factory.mktemp("forms")
    module, example = small_cnn()
    paths = {name: folder / file for name, file in (
        ("pt2", "model.pt2"), ("torchscript", "model.ts"), ("pickle", "model.pt"),
        ("state_dict", "weights.pt"),
    )}
    torch.export.save(torch.export.export(module, (example,), strict=False), paths["pt2"])
    torch.jit.save(torch.jit.script(module), paths["torchscript"])
    torch.save(module, paths["pickle"])
    torch.save(module.state_dict(), paths["state_dict"])
    return paths


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """TorchScript is deprecated upstream; loading it is still this loader's job."""
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning"))
