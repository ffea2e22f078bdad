"""The valid range of an integer input, read off the tables it indexes.

Token ids must stay below the vocabulary size or the embedding lookup fails. The ids are
followed through casts and reshapes to every Gather that uses them as indices into a constant
table (and every OneHot); the smallest table bounds the draw, so token_type_ids get the size
of their own (tiny) table and input_ids the vocabulary. Attention masks are all ones: random
masks would hide most positions and change what the probe measures.
"""
from __future__ import annotations

from dataclasses import dataclass

import onnx

from gradlint.loaders.onnx.constants import constant_values
from gradlint.loaders.onnx.graph_index import GraphIndex

# Integer inputs that index nothing we can see: drawn from {0, 1}.
DEFAULT_INT_HIGH = 2
_PASS_THROUGH = frozenset(
    {"Cast", "Unsqueeze", "Squeeze", "Reshape", "Identity", "Flatten", "Expand", "Transpose",
     "Slice", "Concat", "Tile", "Clip"}
)


@dataclass(frozen=True)
class IntRange:
    low: int
    high: int


def is_mask_name(name: str) -> bool:
    return "mask" in name.lower()


def integer_range(index: GraphIndex, name: str) -> IntRange:
    """[low, high) for integer input `name`."""
    if is_mask_name(name):
        return IntRange(1, 2)
    sizes = table_sizes(index, name)
    return IntRange(0, min(sizes) if sizes else DEFAULT_INT_HIGH)


def table_sizes(index: GraphIndex, name: str) -> list[int]:
    """Rows of every constant table the values of `name` index, following pass-through ops."""
    sizes: list[int] = []
    seen: set[str] = set()
    stack = [name]
    while stack:
        value = stack.pop()
        if value in seen:
            continue
        seen.add(value)
        for pos in index.consumers.get(value, ()):
            node = index.nodes[pos]
            size = _indexed_size(index, node, value)
            if size is not None:
                sizes.append(size)
            elif node.op_type in _PASS_THROUGH and node.input and node.input[0] == value:
                stack.extend(out for out in node.output if out)
    return sizes


def _indexed_size(index: GraphIndex, node: onnx.NodeProto, value: str) -> int | None:
    if node.op_type == "Gather" and len(node.input) > 1 and node.input[1] == value:
        axis = next((a.i for a in node.attribute if a.name == "axis"), 0)
        shape = index.shape(node.input[0])
        if node.input[0] in index.constants and shape and isinstance(shape[axis], int):
            return int(shape[axis])  # type: ignore[arg-type]
        return _evaluated_rows(index, node.input[0], axis)
    if node.op_type == "OneHot" and node.input and node.input[0] == value:
        depth = constant_values(index, [node.input[1]]).get(node.input[1])
        return int(depth.reshape(-1)[0]) if depth is not None and depth.size else None
    return None


def _evaluated_rows(index: GraphIndex, table: str, axis: int) -> int | None:
    if table not in index.constants:
        return None
    value = constant_values(index, [table]).get(table)
    if value is None or value.ndim <= axis:
        return None
    return int(value.shape[axis])
