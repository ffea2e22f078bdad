"""Edges between layers by data flow, and merge layers found on the way.

One sweep over the ops in execution order keeps, for every value, the set of layers it was
computed from (through glue ops such as views). An op of a layer draws an edge from each
producer of its operands; a glue `add` or `cat` whose operands come from different layers is
a merge layer of its own (a residual sum, a concatenation), as is attention between two
activations. The rotary `q * cos + rotate(q) * sin` is no merge: both sides come from `q`.
"""
from __future__ import annotations

from dataclasses import dataclass

from gradlint.loaders.torch.layer_groups import OpGroup
from gradlint.loaders.torch.op_kinds import MERGE_OPS, base_op
from gradlint.loaders.torch.op_records import OpRecord, ProgramRecords


@dataclass(frozen=True)
class DataFlow:
    groups: dict[str, OpGroup]  # module and merge layers, in order of first op
    edges: tuple[tuple[str, str], ...]
    membership: dict[str, str]  # op name -> layer name
    producers: dict[str, frozenset[str]]  # value -> the layers it was computed from


def trace_data_flow(
    records: ProgramRecords, modules: dict[str, OpGroup], input_layers: dict[str, str]
) -> DataFlow:
    """`input_layers` maps each user input value to the name of its INPUT layer."""
    membership = {op.name: name for name, group in modules.items() for op in group.ops}
    producers: dict[str, frozenset[str]] = {
        value: frozenset({layer}) for value, layer in input_layers.items()
    }
    merges: dict[str, OpGroup] = {}
    edges: dict[tuple[str, str], None] = {}
    taken = set(modules) | set(input_layers.values())
    for op in records.ops:
        sources = [producers.get(arg, frozenset()) for arg in _operands(op, records)]
        layer = membership.get(op.name) or _merge_layer(op, sources, records, taken, merges)
        if layer is None:
            produced = frozenset().union(*sources)
        else:
            membership[op.name] = layer
            edges.update(((source, layer), None) for s in sources for source in s if source != layer)
            produced = frozenset({layer})
        producers.update((value, produced) for value in op.outputs)
    groups = _in_op_order(records, {**modules, **merges})
    return DataFlow(groups, tuple(edges), membership, producers)


def _operands(op: OpRecord, records: ProgramRecords) -> list[str]:
    """Activation operands: tensor arguments that are not parameters, buffers or constants."""
    return [arg for arg in op.args if arg is not None and arg not in records.tensors]


def _merge_layer(
    op: OpRecord,
    sources: list[frozenset[str]],
    records: ProgramRecords,
    taken: set[str],
    merges: dict[str, OpGroup],
) -> str | None:
    merge = MERGE_OPS.get(base_op(op.op))
    feeding = [s for s in sources if s]
    if merge is None or len(feeding) < 2 or op.is_float is False:
        return None
    if merge in ("add", "cat") and len(set(feeding)) < 2:
        return None
    if merge == "matmul" and any(arg in records.tensors for arg in op.args if arg is not None):
        return None  # a product with a weight is a linear layer written by hand, not a merge
    owner = op.owner.call if op.owner is not None else ""
    name = _unique(f"{owner}+{merge}", taken)
    taken.add(name)
    merges[name] = OpGroup(name, module=None, merge=merge, ops=[op])
    return name


def _unique(base: str, taken: set[str]) -> str:
    if base not in taken:
        return base
    index = 1
    while f"{base}_{index}" in taken:
        index += 1
    return f"{base}_{index}"


def _in_op_order(records: ProgramRecords, groups: dict[str, OpGroup]) -> dict[str, OpGroup]:
    position = {op.name: index for index, op in enumerate(records.ops)}
    return dict(sorted(groups.items(), key=lambda item: position[item[1].ops[0].name]))
