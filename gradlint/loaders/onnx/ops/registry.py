"""The op table of gradlint's ONNX->torch executor, and the contract every op follows.

Registering an op::

    from gradlint.loaders.onnx.ops.registry import OpContext, onnx_op

    @onnx_op("Relu")                      # domain="" is the default ONNX domain
    def relu(ctx: OpContext, inputs: list[torch.Tensor | None], attrs: dict) -> torch.Tensor:
        return torch.relu(inputs[0])

The contract:

- `inputs` follows the node's input list position by position; an omitted optional input
  (empty name in the model) is `None`. Trailing omitted inputs may be absent from the list,
  so read optional inputs with `optional_input(inputs, i)`.
- `attrs` holds the node's attributes, parsed once when the executor is built: ints, floats,
  strings (decoded to `str`), lists of those, and TENSOR attributes as torch tensors (already
  on the executor's device and float dtype). GRAPH attributes (If/Loop bodies) are compiled
  subgraph objects; run them with `ctx.run_subgraph(attrs["then_branch"], [...])`.
  Attributes the node does not set are absent: apply the ONNX spec's default with
  `attrs.get(name, default)` (the default may depend on `ctx.opset`).
- Return one tensor or a list/tuple of tensors, one per node output in order. Return fewer
  than the node declares only when the extra outputs are optional and unused; `None` stands
  for an output that is not produced.
- Ops must be pure (no in-place writes to their inputs), differentiable where ONNX is,
  device-agnostic (create new tensors with `device=x.device`), and keep the float dtype of
  their float inputs (the executor runs in float32 or float64).
- Integer tensors that ONNX treats as data (shapes, axes, indices) arrive as int64 torch
  tensors; turn them into Python ints with `ints(tensor)` when they steer the computation.
- A name may be registered once per (op_type, domain): a duplicate raises `ValueError`.
  Modules of the `ops` package register on import; `ops/__init__.py` imports them all.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence, Union

import torch

OpResult = Union[torch.Tensor, Sequence[Union[torch.Tensor, None]]]
OpFunction = Callable[["OpContext", list, dict], OpResult]

NORM_MODES = ("batch", "running")

_TABLE: dict[tuple[str, str], OpFunction] = {}


def _default_subgraph_runner(subgraph: Any, inputs: Sequence[torch.Tensor | None]) -> list:
    raise RuntimeError("this context cannot run subgraphs")


@dataclass(frozen=True)
class OpContext:
    """What an op may know about where it runs.

    `opset` is the model's version of the op's domain; `norm_mode` is 'batch' (normalization
    from the batch's own statistics, DESIGN.md's training semantics) or 'running' (stored
    statistics, inference semantics); `num_outputs` is how many outputs the node declares;
    `run_subgraph(subgraph, inputs)` evaluates a GRAPH attribute with the given formal
    inputs, seeing the enclosing scope's values, and returns its outputs in order;
    `float_dtype` and `device` are what the executor computes in (ops that make float
    tensors from nothing, or Cast to a float type, use them).
    """

    opset: int
    node_name: str = ""
    norm_mode: str = "batch"
    num_outputs: int = 1
    float_dtype: torch.dtype = torch.float32
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    run_subgraph: Callable[[Any, Sequence[torch.Tensor | None]], list] = field(
        default=_default_subgraph_runner, compare=False
    )
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False)


def onnx_op(op_type: str, domain: str = "") -> Callable[[OpFunction], OpFunction]:
    """Register the decorated function as the implementation of `op_type` in `domain`."""
    key = (op_type, _normal_domain(domain))

    def register(fn: OpFunction) -> OpFunction:
        if key in _TABLE:
            raise ValueError(f"ONNX op {key[1] or 'ai.onnx'}::{op_type} is registered twice")
        _TABLE[key] = fn
        return fn

    return register


def lookup(op_type: str, domain: str = "") -> OpFunction | None:
    """The implementation of `op_type` in `domain`, or None when gradlint has none."""
    return _TABLE.get((op_type, _normal_domain(domain)))


def supported_ops() -> set[tuple[str, str]]:
    """Every registered (op_type, domain); the default ONNX domain is ''."""
    return set(_TABLE)


def _normal_domain(domain: str) -> str:
    return "" if domain in ("", "ai.onnx") else domain


def optional_input(inputs: Sequence[torch.Tensor | None], index: int) -> torch.Tensor | None:
    """Input `index`, or None when it is omitted or past the end of the list."""
    return inputs[index] if index < len(inputs) else None


def ints(tensor: torch.Tensor | Sequence[int] | int) -> list[int]:
    """A shape/axes/indices tensor (or int or list) as a list of Python ints."""
    if isinstance(tensor, torch.Tensor):
        return [int(v) for v in tensor.reshape(-1).tolist()]
    if isinstance(tensor, int):
        return [tensor]
    return [int(v) for v in tensor]
