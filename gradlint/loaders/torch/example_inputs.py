"""A PyTorch model's inputs: named example tensors from a factory, or shapes from the user.

Names come from the forward signature (`forward(self, pixel_values)` -> `pixel_values`), so
`--input-shape pixel_values=1x3x224x224` and the report use the names the user wrote.
"""
from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import torch

from gradlint.errors import ModelLoadError
from gradlint.options import InputOverrides


@dataclass(frozen=True)
class ExampleInputs:
    """Inputs to call the model with: `model(*args, **kwargs)`; `names` lists both in order."""

    args: tuple[torch.Tensor, ...] = ()
    kwargs: Mapping[str, torch.Tensor] = field(default_factory=dict)
    names: tuple[str, ...] = ()

    def by_name(self) -> dict[str, torch.Tensor]:
        return dict(zip(self.names, (*self.args, *self.kwargs.values())))


def forward_parameters(module: torch.nn.Module) -> list[inspect.Parameter]:
    """The forward's parameters after self (TorchScript: from its schema)."""
    schema = getattr(getattr(module, "forward", None), "schema", None)
    if schema is not None:
        return [inspect.Parameter(a.name, inspect.Parameter.POSITIONAL_OR_KEYWORD) for a in schema.arguments[1:]]
    try:
        return list(inspect.signature(module.forward).parameters.values())
    except (TypeError, ValueError):
        return []


def normalize_example(example: Any, module: torch.nn.Module, origin: str) -> ExampleInputs:
    """A tensor, a tuple/list of tensors or a dict of tensors, named after forward's parameters."""
    if isinstance(example, torch.Tensor):
        example = (example,)
    if isinstance(example, Mapping) and all(isinstance(v, torch.Tensor) for v in example.values()):
        kwargs = {str(k): v for k, v in example.items()}
        return ExampleInputs(kwargs=kwargs, names=tuple(kwargs))
    if isinstance(example, (tuple, list)) and all(isinstance(v, torch.Tensor) for v in example):
        return ExampleInputs(args=tuple(example), names=tuple(_positional_names(module, len(example))))
    raise ModelLoadError(
        f"{origin} returned example inputs of type {type(example).__name__}; "
        "return a tensor, a tuple of tensors or a dict of tensors"
    )


def _positional_names(module: torch.nn.Module, count: int) -> list[str]:
    names: list[str] = []
    for parameter in forward_parameters(module):
        if parameter.kind == inspect.Parameter.VAR_POSITIONAL:
            names += [f"{parameter.name}_{i}" for i in range(count - len(names))]
        elif parameter.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD):
            names.append(parameter.name)
        if len(names) >= count:
            break
    names += [f"input_{i}" for i in range(len(names), count)]
    return names[:count]


def requested_inputs(
    parameters: Sequence[inspect.Parameter], overrides: InputOverrides
) -> list[tuple[str, tuple[int, ...]]]:
    """(name, shape) of each input the user gave a shape for, in forward-signature order.

    Raises ModelLoadError saying what to pass when no shape was given or a required input
    has none.
    """
    takes_kwargs = any(p.kind == inspect.Parameter.VAR_KEYWORD for p in parameters)
    parameters = [p for p in parameters if p.kind not in _VARIADIC]
    names = [p.name for p in parameters]
    shapes = dict(overrides.shapes)
    if "" in shapes:
        if not names:
            raise ModelLoadError("--input-shape without a name needs a forward with a named input")
        shapes[names[0]] = shapes.pop("")
    if not shapes:
        raise ModelLoadError(_what_to_pass(parameters))
    unknown = [name for name in shapes if name not in names]
    if unknown and not takes_kwargs:
        raise ModelLoadError(f"--input-shape names {', '.join(unknown)}, but forward takes {', '.join(names) or 'nothing'}")
    missing = [p.name for p in parameters if p.default is inspect.Parameter.empty and p.name not in shapes]
    if missing:
        raise ModelLoadError(f"no input shape for {', '.join(missing)}: {_what_to_pass(parameters)}")
    ordered = [name for name in names if name in shapes] + unknown
    return [(name, shapes[name]) for name in ordered]


_VARIADIC = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)


def _what_to_pass(parameters: Sequence[inspect.Parameter]) -> str:
    required = [p.name for p in parameters if p.default is inspect.Parameter.empty] or [
        p.name for p in parameters[:1]
    ]
    example = required[0] if required else "NAME"
    listed = ", ".join(p.name for p in parameters) or "no named inputs"
    return (
        f"the model has no example inputs; pass --input-shape {example}=DIMS (e.g. "
        f"{example}=2x3x32x32) for each input (forward takes {listed}), and --input-dtype "
        f"{example}=int64 for token ids"
    )
