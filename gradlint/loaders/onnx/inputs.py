"""Resolve every model input to a concrete `InputSpec` the probes can synthesise.

Documented defaults for dims the model leaves symbolic or unknown:
- the batch dim gets `batch_size` (default 8). It is the first dim, or, when the first is fixed
  above 1, the first symbolic one (silero's state [2, B, 128]). A dim fixed by the model keeps
  its value, batch 1 included (models exported with batch 1 cannot always be batched);
- integer inputs (token ids) and float inputs of rank <= 3: other dims are `sequence_length`;
- float inputs of rank >= 4 (images): channels (dim 1) = 3, spatial dims = 32;
- a symbolic dim name keeps one value across inputs, so `--input-shape input_ids=2x7` also
  sizes token_type_ids when both use ('batch', 'seq'); likewise a batch given for one input
  is the batch of every input whose batch dim is symbolic;
- an input without any shape is (batch_size, sequence_length).
Integer inputs draw from the rows of the embedding table they index (see input_ranges);
inputs named like masks are all ones; integer or bool scalars are control inputs and need
`--input-value NAME=NUMBER`.
"""
from __future__ import annotations

from typing import Mapping

import onnx
import torch
from onnx import TensorProto

from gradlint.errors import ModelLoadError, UsageError
from gradlint.loaders.onnx.graph_index import GraphIndex
from gradlint.loaders.onnx.input_memory import check_memory, default_memory_limit, fits
from gradlint.loaders.onnx.input_options import SOLE_INPUT, parse_dims, parse_input_options
from gradlint.loaders.onnx.input_ranges import integer_range, is_mask_name
from gradlint.model import Diagnostic, InputSpec
from gradlint.options import InputOverrides

__all__ = ["fit_inputs", "resolve_inputs", "parse_dims", "parse_input_options"]

DEFAULT_CHANNELS = 3
DEFAULT_SPATIAL = 32
_ONNX_TO_TORCH = {
    TensorProto.FLOAT: torch.float32,
    TensorProto.DOUBLE: torch.float64,
    TensorProto.FLOAT16: torch.float16,
    TensorProto.BFLOAT16: torch.bfloat16,
    TensorProto.INT64: torch.int64,
    TensorProto.INT32: torch.int32,
    TensorProto.INT16: torch.int16,
    TensorProto.INT8: torch.int8,
    TensorProto.UINT8: torch.uint8,
    TensorProto.BOOL: torch.bool,
}

Dim = int | str | None
# resolve_inputs' memory_limit default: a quarter of physical RAM (see input_memory).
AUTO_MEMORY_LIMIT = -1


def resolve_inputs(
    model: onnx.ModelProto,
    overrides: InputOverrides,
    batch_size: int,
    sequence_length: int,
    memory_limit: int | None = AUTO_MEMORY_LIMIT,
) -> tuple[InputSpec, ...]:
    """InputSpecs for the model's real inputs; `memory_limit` in bytes, None for no guard."""
    return fit_inputs(model, overrides, batch_size, sequence_length, memory_limit)[0]


def fit_inputs(
    model: onnx.ModelProto,
    overrides: InputOverrides,
    batch_size: int,
    sequence_length: int,
    memory_limit: int | None = AUTO_MEMORY_LIMIT,
) -> tuple[tuple[InputSpec, ...], tuple[Diagnostic, ...]]:
    """`resolve_inputs`, and where the probe would not fit at the default batch, a smaller
    batch: halved down to 1 while the model's batch dim is symbolic and the user gave no
    batch, with a 'probe-batch-reduced' Diagnostic. Otherwise over the limit is an error."""
    index = GraphIndex(model)
    limit = default_memory_limit() if memory_limit == AUTO_MEMORY_LIMIT else memory_limit
    parsed = _by_input(overrides, index.input_names)
    specs, bound, ours = _specs(index, parsed, batch_size, sequence_length)
    batch = batch_size
    while not fits(index, specs, bound, limit):
        smaller = _specs(index, parsed, batch // 2, sequence_length) if ours and batch > 1 else None
        if smaller is None or [s.shape for s in smaller[0]] == [s.shape for s in specs]:
            check_memory(index, specs, bound, limit)  # raises, with the estimate
        specs, bound, _ = smaller
        batch //= 2
    notes = () if batch == batch_size else (_batch_reduced(batch_size, batch, limit),)
    return specs, notes


def _specs(
    index: GraphIndex, parsed: tuple[dict, dict, dict], batch_size: int, sequence_length: int
) -> tuple[tuple[InputSpec, ...], dict[str, int], bool]:
    """The specs at `batch_size`, the symbolic dims they bind, and whether that batch is ours
    to reduce (the user gave no input shape)."""
    shapes, values, dtypes = parsed
    declared = {name: index.shape(name) for name in index.input_names}
    bound = _bind_overridden(declared, shapes)
    batch_size = _overridden_batch(declared, shapes) or batch_size
    specs = []
    for name in index.input_names:
        dtype = dtypes.get(name) or _declared_dtype(index, name)
        dims = declared[name]
        if name in shapes:
            shape = shapes[name]
        else:
            shape = _default_shape(dims, dtype, bound, batch_size, sequence_length)
        specs.append(_spec(index, name, shape, dtype, dims, values.get(name)))
    return tuple(specs), bound, not shapes


def _batch_reduced(old: int, new: int, limit: int | None) -> Diagnostic:
    limit_text = "" if not limit else f" ({limit / 1024**3:.1f} GiB)"
    return Diagnostic(
        kind="probe-batch-reduced",
        message=f"the probe at batch {old} would not fit in the memory limit{limit_text}; probed at batch {new}",
        details={"from": old, "to": new},
    )


def _by_input(overrides: InputOverrides, names: tuple[str, ...]) -> tuple[dict, dict, dict]:
    """The three override maps keyed by real input names; unknown names are a UsageError."""
    resolved = []
    for option, table in (("--input-shape", overrides.shapes), ("--input-value", overrides.values),
                          ("--input-dtype", overrides.dtypes)):
        keyed = {}
        for key, value in table.items():
            keyed[_input_name(key, names, option)] = value
        resolved.append(keyed)
    return resolved[0], resolved[1], resolved[2]


def _input_name(key: str, names: tuple[str, ...], option: str) -> str:
    listed = ", ".join(names) or "(none)"
    if key == SOLE_INPUT:
        if len(names) != 1:
            raise UsageError(f"{option} without a name needs a single-input model; its inputs are: {listed}")
        return names[0]
    if key not in names:
        raise UsageError(f"{option}: the model has no input {key!r}; its inputs are: {listed}")
    return key


def _declared_dtype(index: GraphIndex, name: str) -> torch.dtype:
    elem = index.dtypes.get(name, TensorProto.FLOAT)
    dtype = _ONNX_TO_TORCH.get(elem)
    if dtype is None:
        kind = TensorProto.DataType.Name(elem) if elem in TensorProto.DataType.values() else elem
        raise ModelLoadError(f"input {name!r} has type {kind}, which gradlint cannot synthesise")
    return dtype


def _bind_overridden(
    declared: Mapping[str, tuple[Dim, ...] | None], shapes: Mapping[str, tuple[int, ...]]
) -> dict[str, int]:
    """Symbolic dim names fixed by the user's shapes."""
    bound: dict[str, int] = {}
    for name, shape in shapes.items():
        dims = declared.get(name)
        if dims is not None and len(dims) != len(shape):
            raise UsageError(
                f"--input-shape {name}: the model declares rank {len(dims)}, got {len(shape)} dims"
            )
        for dim, size in zip(dims or (), shape):
            if isinstance(dim, str) and dim:
                bound.setdefault(dim, size)
    return bound


def _overridden_batch(
    declared: Mapping[str, tuple[Dim, ...] | None], shapes: Mapping[str, tuple[int, ...]]
) -> int | None:
    """The batch the user gave one input, for the other inputs' symbolic batch dims."""
    for name, shape in shapes.items():
        dims = declared.get(name)
        axis = _batch_axis(dims, len(shape))
        if dims and axis is not None and not (isinstance(dims[axis], int) and dims[axis] > 0):
            return shape[axis]
    return None


def _default_shape(
    dims: tuple[Dim, ...] | None, dtype: torch.dtype, bound: dict[str, int], batch: int, sequence: int
) -> tuple[int, ...]:
    if dims is None:
        return (batch, sequence)
    batch_axis = _batch_axis(dims, len(dims))
    shape = []
    for axis, dim in enumerate(dims):
        if isinstance(dim, int) and dim > 0:
            shape.append(dim)
            continue
        size = bound.get(dim) if isinstance(dim, str) and dim else None
        if size is None:
            size = batch if axis == batch_axis else _default_dim(axis, len(dims), dtype, sequence)
            if isinstance(dim, str) and dim:
                bound[dim] = size
        shape.append(size)
    return tuple(shape)


def _default_dim(axis: int, rank: int, dtype: torch.dtype, sequence: int) -> int:
    if not dtype.is_floating_point or rank <= 3:
        return sequence
    return DEFAULT_CHANNELS if axis == 1 else DEFAULT_SPATIAL


def _spec(
    index: GraphIndex,
    name: str,
    shape: tuple[int, ...],
    dtype: torch.dtype,
    dims: tuple[Dim, ...] | None,
    value: float | None,
) -> InputSpec:
    batch_axis = _batch_axis(dims, len(shape))
    if value is not None:
        return InputSpec(name, shape, dtype, value=value, batch_axis=batch_axis)
    if not shape and not dtype.is_floating_point:
        raise UsageError(
            f"input {name!r} is a scalar of type {str(dtype).replace('torch.', '')} (a control input such "
            f"as a sample rate); pass --input-value {name}=NUMBER"
        )
    if dtype.is_floating_point or dtype == torch.bool:
        # A float or bool mask is all ones too, and not a path gradients are measured along.
        ones = 1.0 if is_mask_name(name) else None
        return InputSpec(name, shape, dtype, value=ones, batch_axis=batch_axis)
    bounds = integer_range(index, name)
    return InputSpec(name, shape, dtype, low=bounds.low, high=bounds.high, batch_axis=batch_axis)


def _batch_axis(dims: tuple[Dim, ...] | None, rank: int) -> int | None:
    """Dim 0, unless it is fixed above 1 and a later dim is symbolic (silero's state [2, B, 128])."""
    if rank == 0:
        return None
    if dims and isinstance(dims[0], int) and dims[0] > 1:
        later = [axis for axis, dim in enumerate(dims) if not (isinstance(dim, int) and dim > 0)]
        if later:
            return later[0]
    return 0
