"""Which ops form which layer: one layer per call of a leaf module, plus merge layers.

A leaf module is one whose call runs ops but contains no other module that runs ops (Linear,
Conv2d, BatchNorm2d, an activation module, LlamaRMSNorm). Its layer is named by its module
path, `path@N` for its (N+1)-th call, so module hooks tap exactly these layers. Modules that
only relabel data (Dropout, Flatten) or never see the model's inputs (rotary tables) are not
layers. Ops in a container's own forward are glue, except merges, found by `data_flow`.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from gradlint.loaders.torch.op_kinds import is_dropout_class, is_transparent
from gradlint.loaders.torch.op_records import ModuleCall, OpRecord, ProgramRecords


@dataclass
class OpGroup:
    """The ops of one layer, gathered in execution order."""

    name: str
    module: ModuleCall | None  # None for merge layers (no module to hook)
    merge: str | None = None  # "add", "cat", "attention", "matmul" for merge layers
    ops: list[OpRecord] = field(default_factory=list)


def module_groups(records: ProgramRecords) -> dict[str, OpGroup]:
    """Leaf-module calls that are layers, keyed by call name, in order of first op."""
    leaves = _leaf_paths(records.ops)
    groups: dict[str, OpGroup] = {}
    for op in records.ops:
        owner = op.owner
        if owner is not None and owner.path in leaves:
            groups.setdefault(owner.call, OpGroup(owner.call, owner)).ops.append(op)
    dependent = input_dependent_values(records)
    return {
        name: group
        for name, group in groups.items()
        if _is_layer(group, dependent, records)
    }


def input_dependent_values(records: ProgramRecords) -> set[str]:
    """Values computed from the user inputs (not from weights, shapes or constants alone)."""
    dependent = set(records.inputs)
    for op in records.ops:
        if any(arg in dependent for arg in op.args if arg is not None):
            dependent.update(op.outputs)
    return dependent


def _leaf_paths(ops: tuple[OpRecord, ...]) -> set[str]:
    owners = {op.owner.path for op in ops if op.owner is not None}
    containers = {
        ".".join(path.split(".")[:depth])
        for path in owners
        for depth in range(1, path.count(".") + 1)
    }
    return owners - containers


def _is_layer(group: OpGroup, dependent: set[str], records: ProgramRecords) -> bool:
    if any(_reads_parameter(op, records) for op in group.ops):
        return True
    if group.module is not None and is_dropout_class(group.module.class_name):
        return False
    if all(is_transparent(op.op) for op in group.ops):
        return False
    return any(arg in dependent for op in group.ops for arg in op.args if arg is not None)


def _reads_parameter(op: OpRecord, records: ProgramRecords) -> bool:
    return any(
        arg in records.tensors and records.tensors[arg].is_parameter
        for arg in op.args
        if arg is not None
    )
