"""The training-time semantics gradlint runs an nn.Module under, without touching its state.

Inside `probe_semantics(root, mode)`:
- every submodule is in eval mode, so dropout is off (and other train-only randomness);
- mode 'batch': normalization layers with running statistics (BatchNorm*, InstanceNorm*) use
  the statistics of the batch they see; their running buffers are set aside for the duration
  (a norm layer with no running buffers normalises by batch statistics and updates nothing),
  so no buffer of the user's module changes. TorchScript modules cannot swap buffers: there
  the norm layers run in training mode and their buffers are restored afterwards;
- mode 'running': eval semantics, the stored statistics;
- modules with an `inplace` flag (nn.ReLU(inplace=True), ...) compute out of place, so the
  tensors a probe keeps are not overwritten later in the forward pass.
Everything is restored on exit, exceptions included.
"""
from __future__ import annotations

import contextlib
from typing import Iterator

import torch
from torch import nn
from torch.nn.modules.batchnorm import _NormBase

NORM_MODES = ("batch", "running")
_RUNNING_BUFFERS = ("running_mean", "running_var", "num_batches_tracked")


@contextlib.contextmanager
def probe_semantics(root: nn.Module, mode: str) -> Iterator[None]:
    modules = list(root.modules())
    training = [m.training for m in modules]
    inplace = [
        (m, m.inplace) for m in modules
        if isinstance(getattr(m, "inplace", None), bool) and not isinstance(m, torch.jit.ScriptModule)
    ]
    set_aside: list[tuple[nn.Module, dict[str, torch.Tensor | None]]] = []
    restore: list[tuple[torch.Tensor, torch.Tensor]] = []
    try:
        root.eval()
        for module, _ in inplace:
            module.inplace = False
        if mode == "batch":
            for module in modules:
                _use_batch_statistics(module, set_aside, restore)
        yield
    finally:
        for module, buffers in set_aside:
            module._buffers.update(buffers)
        with torch.no_grad():
            for target, saved in restore:
                # .data: the scripted module's forward saved these tensors for backward, and a
                # version bump here would fail that backward; the values are the same ones.
                target.data.copy_(saved)
        for module, flag in inplace:
            module.inplace = flag
        for module, flag in zip(modules, training):
            module.training = flag


def _use_batch_statistics(
    module: nn.Module,
    set_aside: list[tuple[nn.Module, dict[str, torch.Tensor | None]]],
    restore: list[tuple[torch.Tensor, torch.Tensor]],
) -> None:
    if isinstance(module, _NormBase):
        buffers = {name: module._buffers.get(name) for name in _RUNNING_BUFFERS if name in module._buffers}
        set_aside.append((module, buffers))
        for name in buffers:
            module._buffers[name] = None
        module.training = True
    elif isinstance(module, torch.jit.ScriptModule) and _is_scripted_norm(module):
        for tensor in module.buffers(recurse=False):
            restore.append((tensor, tensor.detach().clone()))
        module.train()


def _is_scripted_norm(module: torch.jit.ScriptModule) -> bool:
    name = getattr(module, "original_name", "")
    return name.startswith(("BatchNorm", "InstanceNorm", "SyncBatchNorm"))
