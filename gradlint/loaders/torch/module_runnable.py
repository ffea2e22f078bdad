"""An eager nn.Module as a gradlint Runnable, with layers at submodule paths.

`ModuleRunnable` taps each layer from a forward hook on its submodule, registered only while
`forward` runs, so the user's module carries no hooks afterwards. The tap sees the tensors the
submodule was called with (positional and keyword, nested containers flattened, in order) and
its output tensor (the first tensor of a tuple/dict output, as for nn.LSTM); what the tap
returns replaces that tensor. `layer_function(path)` re-runs the submodule alone, with the
non-tensor arguments of its last call.

`default_layer_paths` and `hook_layer_graph` (in `hook_graph`) give layers for modules
torch.export cannot trace.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping, Sequence

import torch
from torch import nn
from torch.utils import _pytree as pytree

from gradlint.errors import UsageError
from gradlint.loaders.torch.module_semantics import NORM_MODES, probe_semantics
from gradlint.model import Tap


@dataclass
class _Call:
    """A submodule call: its flattened arguments (tensors left out) and where tensors sit."""

    leaves: list[Any]
    spec: pytree.TreeSpec
    tensor_positions: tuple[int, ...]

    def with_tensors(self, tensors: Sequence[torch.Tensor]) -> tuple[tuple, dict]:
        leaves = list(self.leaves)
        for position, tensor in zip(self.tensor_positions, tensors):
            leaves[position] = tensor
        return pytree.tree_unflatten(leaves, self.spec)


class ModuleRunnable:
    """Runnable over `module`; inputs are passed positionally in `input_names` order."""

    def __init__(
        self,
        module: nn.Module,
        input_names: Sequence[str],
        layer_paths: Sequence[str],
        output_names: Sequence[str] | None = None,
    ) -> None:
        self.module = module
        self.input_names = tuple(input_names)
        self.layer_paths = tuple(dict.fromkeys(layer_paths))
        self.output_names = tuple(output_names) if output_names else None
        self._submodules = {path: _submodule(module, path) for path in self.layer_paths}
        self._calls: dict[str, _Call] = {}
        self._tap: Tap | None = None
        self._norm_mode = "batch"

    @property
    def norm_mode(self) -> str:
        return self._norm_mode

    def forward(
        self, inputs: Mapping[str, torch.Tensor], tap: Tap | None = None
    ) -> dict[str, torch.Tensor]:
        missing = [name for name in self.input_names if name not in inputs]
        if missing:
            raise UsageError(f"model input {missing[0]!r} was not given")
        args = [inputs[name] for name in self.input_names]
        handles = [
            sub.register_forward_hook(self._hook(path), with_kwargs=True)
            for path, sub in self._submodules.items()
        ]
        self._tap = tap
        try:
            with probe_semantics(self.module, self._norm_mode):
                result = self.module(*args)
        finally:
            self._tap = None
            for handle in handles:
                handle.remove()
        return named_outputs(result, self.output_names)

    def __call__(self, inputs: Mapping[str, torch.Tensor], tap: Tap | None = None) -> dict[str, torch.Tensor]:
        return self.forward(inputs, tap)

    def layer_function(self, layer: str) -> Callable[..., torch.Tensor]:
        if layer not in self._submodules:
            raise UsageError(f"no layer named {layer!r} in this module")
        submodule = self._submodules[layer]

        def run_alone(*tensors: torch.Tensor) -> torch.Tensor:
            call = self._calls.get(layer)
            args, kwargs = call.with_tensors(tensors) if call else (tensors, {})
            with probe_semantics(submodule, self._norm_mode):
                output = submodule(*args, **kwargs)
            primary, _ = primary_tensor(output)
            if primary is None:
                raise UsageError(f"layer {layer!r} returned no tensor")
            return primary

        return run_alone

    def to(self, device: torch.device | str, dtype: torch.dtype | None = None) -> "ModuleRunnable":
        self.module.to(device=device, dtype=dtype) if dtype is not None else self.module.to(device)
        self._calls.clear()
        return self

    def set_norm_mode(self, mode: str) -> None:
        if mode not in NORM_MODES:
            raise UsageError(f"norm mode must be one of {', '.join(NORM_MODES)}, not {mode!r}")
        self._norm_mode = mode

    def named_parameters(self) -> Iterator[tuple[str, torch.Tensor]]:
        """Every float parameter (shared ones once): the probe measures training all of them."""
        for name, parameter in self.module.named_parameters():
            if parameter.is_floating_point():
                yield name, parameter

    def _hook(self, path: str) -> Callable[..., Any]:
        def on_output(module: nn.Module, args: tuple, kwargs: dict, output: Any) -> Any:
            leaves, spec = pytree.tree_flatten((args, kwargs))
            positions = tuple(i for i, leaf in enumerate(leaves) if isinstance(leaf, torch.Tensor))
            tensors = [leaves[i] for i in positions]
            # The call is kept without its tensors (callers of layer_function pass them again),
            # so no activation outlives the forward pass through this record.
            self._calls[path] = _Call([None if i in positions else x for i, x in enumerate(leaves)], spec, positions)
            primary, rebuild = primary_tensor(output)
            if self._tap is None or primary is None:
                return None
            replaced = self._tap(path, tensors, primary)
            return None if replaced is primary else rebuild(replaced)

        return on_output


def primary_tensor(output: Any) -> tuple[torch.Tensor | None, Callable[[torch.Tensor], Any]]:
    """The tensor a layer stands for (the first one in its output) and how to swap it."""
    if isinstance(output, torch.Tensor):
        return output, lambda new: new
    leaves, spec = pytree.tree_flatten(output)
    for index, leaf in enumerate(leaves):
        if isinstance(leaf, torch.Tensor):
            def rebuild(new: torch.Tensor, index: int = index) -> Any:
                changed = list(leaves)
                changed[index] = new
                return pytree.tree_unflatten(changed, spec)

            return leaf, rebuild
    return None, lambda new: output


def named_outputs(result: Any, names: Sequence[str] | None = None) -> dict[str, torch.Tensor]:
    """A model's outputs by name: a tensor, a tuple/list by index, a dict or ModelOutput by key."""
    if isinstance(result, torch.Tensor):
        return {names[0] if names else "output": result}
    if isinstance(result, Mapping):
        return {str(k): v for k, v in result.items() if isinstance(v, torch.Tensor) and v.is_floating_point()}
    leaves = [leaf for leaf in pytree.tree_leaves(result) if isinstance(leaf, torch.Tensor)]
    return {
        (names[i] if names and i < len(names) else str(i)): leaf for i, leaf in enumerate(leaves)
    }


def _submodule(module: nn.Module, path: str) -> nn.Module:
    try:
        return module.get_submodule(path)
    except AttributeError:
        raise UsageError(f"the module has no submodule {path!r}") from None


from gradlint.loaders.torch.hook_graph import default_layer_paths, hook_layer_graph  # noqa: E402

__all__ = ["ModuleRunnable", "default_layer_paths", "hook_layer_graph", "named_outputs", "primary_tensor"]
