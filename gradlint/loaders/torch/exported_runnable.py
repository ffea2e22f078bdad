"""The Runnable of a torch.export archive: module hooks plus the batch-norm switch.

An exported graph ignores `module.train()`; its batch norms were rerouted through a
NormSwitch (`exported_module`), which `set_norm_mode` flips alongside the hooked runnable.
"""
from __future__ import annotations

from typing import Any, Callable, Iterator, Mapping

import torch

from gradlint.loaders.torch.exported_module import NormSwitch
from gradlint.model import Tap


class ExportedRunnable:
    def __init__(self, inner: Any, switch: NormSwitch) -> None:
        self.inner = inner
        self.switch = switch

    def forward(
        self, inputs: Mapping[str, torch.Tensor], tap: Tap | None = None
    ) -> dict[str, torch.Tensor]:
        return self.inner.forward(inputs, tap)

    def layer_function(self, layer: str) -> Callable[..., torch.Tensor]:
        return self.inner.layer_function(layer)

    def to(self, device: torch.device, dtype: torch.dtype | None = None) -> "ExportedRunnable":
        self.inner = self.inner.to(device, dtype)
        return self

    def set_norm_mode(self, mode: str) -> None:
        self.inner.set_norm_mode(mode)
        self.switch.batch_statistics = mode == "batch"

    def named_parameters(self) -> Iterator[tuple[str, torch.Tensor]]:
        return self.inner.named_parameters()

    def __getattr__(self, name: str) -> Any:
        # Anything else the probe may read (layer paths, the module) comes from the inner one.
        return getattr(self.__dict__["inner"], name)
