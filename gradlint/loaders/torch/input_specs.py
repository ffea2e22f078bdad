"""InputSpecs for a PyTorch model: shape and dtype per input, and the range of token ids.

Token ids are drawn below the row count of the embedding table they index (found by
following the input through views to `aten.embedding` in the op records); without a graph,
below the smallest embedding table of the model, else below the example's max + 1.

The example's first dim is used as is, except for an eager module whose example inputs all
share a first dim (every input at least 2-d: a batch dim): the probe batch is then
`options.batch_size`. Exported programs keep the example's shapes, which they were traced
with.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import torch

from gradlint.loaders.torch.example_inputs import ExampleInputs
from gradlint.loaders.torch.op_kinds import EMBEDDING_OPS, base_op, is_transparent
from gradlint.loaders.torch.op_records import ProgramRecords
from gradlint.model import InputSpec
from gradlint.options import InputOverrides

_INDEX_ARGUMENT = 1  # aten.embedding(weight, indices)


def specs_from_example(
    example: ExampleInputs,
    overrides: InputOverrides,
    token_ranges: Mapping[str, int],
    batch_size: int | None,
) -> tuple[InputSpec, ...]:
    """Specs shaped like the example; `batch_size` replaces a shared batch dim when given."""
    tensors = example.by_name()
    batched = _has_batch_dim(list(tensors.values()))
    specs = []
    for name, tensor in tensors.items():
        shape = tuple(tensor.shape)
        if batched and batch_size is not None:
            shape = (int(batch_size), *shape[1:])
        sole = overrides.shapes.get("") if len(tensors) == 1 else None
        shape = overrides.shapes.get(name) or sole or shape
        high = token_ranges.get(name) or _example_high(tensor)
        specs.append(_spec(name, tuple(shape), tensor.dtype, overrides, high, batched))
    return tuple(specs)


def specs_from_request(
    requested: Sequence[tuple[str, tuple[int, ...]]],
    overrides: InputOverrides,
    token_ranges: Mapping[str, int],
    default_high: int,
) -> tuple[InputSpec, ...]:
    """Specs for shapes the user passed: float32 unless --input-dtype says otherwise."""
    return tuple(
        _spec(
            name,
            tuple(shape),
            overrides.dtypes.get(name, overrides.dtypes.get("", torch.float32)),
            overrides,
            token_ranges.get(name, default_high),
            batched=True,
        )
        for name, shape in requested
    )


def _spec(
    name: str,
    shape: tuple[int, ...],
    dtype: torch.dtype,
    overrides: InputOverrides,
    high: int,
    batched: bool | None,
) -> InputSpec:
    return InputSpec(
        name=name,
        shape=shape,
        dtype=dtype,
        low=0,
        high=max(int(high), 1),
        value=overrides.values.get(name),
        batch_axis=0 if batched and shape else None,
    )


def _has_batch_dim(tensors: list[torch.Tensor]) -> bool:
    if not tensors or any(t.dim() < 2 for t in tensors):
        return False
    return len({t.shape[0] for t in tensors}) == 1


def _example_high(tensor: torch.Tensor) -> int:
    if tensor.dtype.is_floating_point or tensor.dtype == torch.bool or tensor.numel() == 0:
        return 2
    return int(tensor.max()) + 1


def embedding_ranges(records: ProgramRecords, input_names: Sequence[str]) -> dict[str, int]:
    """Per input name: the rows of the embedding table its values index, where one does."""
    ranges = {}
    for value, name in zip(records.inputs, input_names):
        rows = _indexed_rows(value, records)
        if rows is not None:
            ranges[name] = rows
    return ranges


def _indexed_rows(value: str, records: ProgramRecords) -> int | None:
    reaching = {value}
    for op in records.ops:
        operands = [arg for arg in op.args if arg is not None]
        if not any(arg in reaching for arg in operands):
            continue
        if base_op(op.op) in EMBEDDING_OPS and len(op.args) > _INDEX_ARGUMENT:
            if op.args[_INDEX_ARGUMENT] in reaching and op.args[0] in records.tensors:
                return int(records.tensors[op.args[0]].tensor.shape[0])
        if is_transparent(op.op):
            reaching.update(op.outputs)
    return None


def smallest_embedding(module: torch.nn.Module) -> int | None:
    """Rows of the model's smallest embedding table: token ids below it index any table."""
    rows = [m.num_embeddings for m in module.modules() if isinstance(m, torch.nn.Embedding)]
    return min(rows) if rows else None
