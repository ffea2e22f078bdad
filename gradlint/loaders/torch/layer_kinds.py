"""One group of ops -> one Layer: its kind, main weight, fan-in, bias, location."""
from __future__ import annotations

from dataclasses import dataclass

from gradlint.loaders.torch.layer_groups import OpGroup
from gradlint.loaders.torch.op_kinds import (
    CONV_OPS,
    EMBEDDING_OPS,
    MATMUL_OPS,
    POOL_OPS,
    RECURRENT_OPS,
    activation_of_class,
    activation_of_op,
    base_op,
    norm_of_class,
    norm_of_op,
)
from gradlint.loaders.torch.op_records import NamedTensor, OpRecord, ProgramRecords
from gradlint.loaders.torch.weight_stats import fan_in_out, recurrent_matrix, weight_stats
from gradlint.findings import Location
from gradlint.model import Layer, LayerKind, WeightStats

_MERGE_KINDS = {
    "add": LayerKind.ADD,
    "cat": LayerKind.CONCAT,
    "attention": LayerKind.ATTENTION,
    "matmul": LayerKind.ATTENTION,
}
_WEIGHT_OPS = (
    (CONV_OPS, LayerKind.CONV),
    (MATMUL_OPS, LayerKind.LINEAR),
    (EMBEDDING_OPS, LayerKind.EMBEDDING),
    (RECURRENT_OPS, LayerKind.RECURRENT),
)


@dataclass(frozen=True)
class _Weight:
    """The op that reads a layer's main weight, the argument position, and the weight."""

    op: OpRecord
    position: int
    tensor: NamedTensor


def classify_group(group: OpGroup, records: ProgramRecords) -> Layer:
    kind, weight = _kind_and_weight(group, records)
    fan_in = fan_out = None
    stats = None
    if kind == LayerKind.RECURRENT and weight is not None:
        fan_in, fan_out, stats = _recurrent_weight(weight, records)
    elif weight is not None:
        shape = tuple(weight.tensor.tensor.shape)
        if kind in (LayerKind.LINEAR, LayerKind.CONV, LayerKind.EMBEDDING):
            fan_in, fan_out = fan_in_out(weight.op.op, weight.position, shape, weight.op.scalars)
        stats = weight_stats(weight.tensor.tensor, fan_in)
    main = weight.op if weight is not None else group.ops[0]
    return Layer(
        name=group.name,
        kind=kind,
        op_types=tuple(op.op for op in group.ops),
        nodes=tuple(op.name for op in group.ops),
        output=group.ops[-1].outputs[0],
        fan_in=fan_in,
        fan_out=fan_out,
        weight=stats,
        bias_mean=_bias_mean(group, records),
        activation=_own_activation(group, kind, weight),
        normalization=_normalization(group) if kind == LayerKind.NORM else None,
        location=_location(group, main),
    )


def _kind_and_weight(group: OpGroup, records: ProgramRecords) -> tuple[LayerKind, _Weight | None]:
    if group.merge is not None:
        return _MERGE_KINDS[group.merge], None
    for op in group.ops:
        for ops, kind in _WEIGHT_OPS:
            weight = _parameter(op, records, min_dims=2)
            if base_op(op.op) in ops and weight is not None:
                return kind, weight
    if _normalization(group) is not None:
        return LayerKind.NORM, _first_parameter(group, records)
    if any(base_op(op.op) in POOL_OPS for op in group.ops):
        return LayerKind.POOL, None
    return LayerKind.OTHER, _first_parameter(group, records)


def _recurrent_weight(
    weight: _Weight, records: ProgramRecords
) -> tuple[int, int, WeightStats]:
    """[W_ih | W_hh] of the first layer: fan-in input_size + hidden_size, fan-out hidden_size."""
    matrices = [
        records.tensors[arg].tensor
        for arg in weight.op.args
        if arg in records.tensors and records.tensors[arg].tensor.dim() == 2
    ]
    input_weight = matrices[0]
    hidden_weight = matrices[1] if len(matrices) > 1 else None
    matrix = recurrent_matrix(input_weight, hidden_weight)
    hidden = hidden_weight.shape[1] if hidden_weight is not None else input_weight.shape[0]
    return matrix.shape[1], hidden, weight_stats(matrix, matrix.shape[1])


def _parameter(op: OpRecord, records: ProgramRecords, min_dims: int = 0) -> _Weight | None:
    for position, arg in enumerate(op.args):
        named = records.tensors.get(arg) if arg is not None else None
        if named is not None and named.is_parameter and named.tensor.dim() >= min_dims:
            return _Weight(op, position, named)
    return None


def _first_parameter(group: OpGroup, records: ProgramRecords) -> _Weight | None:
    """The parameter named `*.weight` if the layer reads one, else the first it reads."""
    found = [w for w in (_parameter(op, records) for op in group.ops) if w is not None]
    named_weight = [w for w in found if w.tensor.fqn.rsplit(".", 1)[-1] == "weight"]
    return (named_weight or found or [None])[0]


def _bias_mean(group: OpGroup, records: ProgramRecords) -> float | None:
    for op in group.ops:
        for arg in op.args:
            named = records.tensors.get(arg) if arg is not None else None
            if named is not None and named.fqn.rsplit(".", 1)[-1] == "bias" and named.tensor.numel():
                return float(named.tensor.detach().double().mean())
    return None


def _normalization(group: OpGroup) -> str | None:
    for op in group.ops:
        if norm_of_op(op.op) is not None:
            return norm_of_op(op.op)
    return norm_of_class(group.module.class_name) if group.module is not None else None


def _own_activation(group: OpGroup, kind: LayerKind, weight: _Weight | None) -> str | None:
    """An activation module's function, or one fused into a weight module after its product."""
    if kind == LayerKind.OTHER and group.module is not None:
        by_class = activation_of_class(group.module.class_name)
        if by_class is not None:
            return by_class
    after = group.ops[group.ops.index(weight.op) + 1:] if weight is not None else group.ops
    if kind in (LayerKind.NORM, LayerKind.POOL) or group.merge is not None:
        return None
    found = [activation_of_op(op.op) for op in after if activation_of_op(op.op)]
    return found[-1] if found else None


def _location(group: OpGroup, main: OpRecord) -> Location | None:
    """A module's layer points at the line calling the module; a merge at the op's line."""
    ordered = [main, *group.ops]
    if group.module is not None:
        sites = [op.call_site for op in ordered if op.call_site is not None]
        if sites:
            return sites[0]
    return next((op.location for op in ordered if op.location is not None), None)
