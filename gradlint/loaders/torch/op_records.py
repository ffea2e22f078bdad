"""A flat, format-neutral record of the ops a PyTorch model ran, for building its LayerGraph.

torch.export programs and TorchScript graphs both reduce to this: aten ops in execution order,
each with the module calls it ran inside (outermost first) and the Python line behind it.
`layer_builder` groups the records into layers, so both formats give the same LayerGraph.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

import torch

from gradlint.findings import Location


@dataclass(frozen=True)
class ModuleCall:
    """One call of a submodule: its path, its class (qualified name) and the call's name.

    `call` equals `path` for a module's first call and `path@N` for its (N+1)-th call, the
    convention torch.export uses in `nn_module_stack`.
    """

    path: str
    type_name: str
    call: str

    @property
    def class_name(self) -> str:
        return self.type_name.rsplit(".", 1)[-1]


@dataclass(frozen=True)
class OpRecord:
    """One aten op. `args` are its tensor operands by argument position (None: not a tensor)."""

    name: str
    op: str  # aten name without namespace or overload: "conv2d", "add", "linear"
    args: tuple[str | None, ...]
    outputs: tuple[str, ...]
    scope: tuple[ModuleCall, ...] = ()
    location: Location | None = None  # the line that wrote the op
    call_site: Location | None = None  # the line that called the module running it
    is_float: bool | None = None  # the output is a floating tensor (None: unknown)
    # The op's positional arguments that are not tensors (strides, groups), None elsewhere.
    scalars: tuple[object, ...] = field(default=(), compare=False)

    @property
    def owner(self) -> ModuleCall | None:
        """The innermost module call the op ran in (None: the model's own forward)."""
        return self.scope[-1] if self.scope else None


@dataclass(frozen=True)
class NamedTensor:
    """A parameter, buffer or constant an op reads, by its module path (`fc.weight`)."""

    fqn: str
    tensor: torch.Tensor
    is_parameter: bool


@dataclass(frozen=True)
class ProgramRecords:
    """All a graph builder needs: user inputs/outputs, ops in order and the tensors they read."""

    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    ops: tuple[OpRecord, ...]
    tensors: Mapping[str, NamedTensor] = field(default_factory=dict, hash=False)
    # What the model's outputs are called, as the Runnable names them ("output", "logits").
    output_names: tuple[str, ...] = ()
