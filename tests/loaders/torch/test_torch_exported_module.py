"""An exported program run as a module tree, with train semantics switchable."""
from __future__ import annotations

import copy
from pathlib import Path

import torch

from gradlint.loaders.torch.archives import load_exported_program
from gradlint.loaders.torch.exported_module import unflattened_module
from torch_models import small_cnn


def test_hooks_see_every_module_and_norm_mode_switches(saved_forms: dict[str, Path]) -> None:
    module, _ = small_cnn()
    tree, switch = unflattened_module(load_exported_program(saved_forms["pt2"]), ["x"])
    seen: list[str] = []
    for name, sub in tree.named_modules():
        if name:
            sub.register_forward_hook(lambda *_, name=name: seen.append(name))
    x = torch.randn(2, 3, 8, 8)
    batch_stats = copy.deepcopy(module).train()  # a copy: training updates running stats
    assert torch.allclose(tree(x=x), batch_stats(x), atol=1e-5)
    assert seen == ["conv", "bn", "act", "conv2", "fc"]
    switch.batch_statistics = False
    assert torch.allclose(tree(x), module.eval()(x), atol=1e-5)


def test_dropout_is_off_even_when_exported_in_training() -> None:
    model = torch.nn.Sequential(torch.nn.Linear(4, 4), torch.nn.Dropout(0.9))
    program = torch.export.export(model.train(), (torch.randn(3, 4),), strict=False)
    tree, _ = unflattened_module(program, ["input"])
    x = torch.randn(3, 4)
    assert torch.equal(tree(x), tree(x))
    assert torch.allclose(tree(x), model.eval()(x))
