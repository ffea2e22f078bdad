"""Decomposed normalizations: LayerNorm and RMSNorm spelled out in elementwise ops.

keras2onnx and older torch exporters emit LayerNorm as
ReduceMean -> Sub -> Pow|Mul -> ReduceMean -> Add -> Sqrt -> Div|Reciprocal -> Mul -> Add
(TensorFlow's variant folds gamma into the reciprocal and subtracts mean * scale from beta).
Each such region becomes one NORM layer, found before layers are cut so that its ReduceMeans
are not mistaken for pooling and its Sub/Mul for merges.
"""
from __future__ import annotations

from dataclasses import dataclass

from gradlint.loaders.onnx.constants import constant_values
from gradlint.loaders.onnx.graph_index import GraphIndex
from gradlint.loaders.onnx.layers_regions import grow_region, single_exit
from gradlint.loaders.onnx.layers_signal import SignalInfo

_NORM_PATTERN_OPS = frozenset(
    {"Sub", "Pow", "Mul", "ReduceMean", "Add", "Sqrt", "Div", "Reciprocal", "Cast", "Neg"}
)
_ROOT_OPS = frozenset({"Sqrt", "Reciprocal", "Pow", "Div"})
_SQUARE_OPS = frozenset({"Pow", "Mul"})


@dataclass(frozen=True)
class NormPattern:
    nodes: tuple[int, ...]  # positions in index.nodes, in order
    exit: int
    kind: str  # "layernorm" | "rmsnorm"


def find_norm_patterns(index: GraphIndex, signal: SignalInfo) -> dict[int, NormPattern]:
    """Decomposed norms keyed by the position of their first node."""
    found: dict[int, NormPattern] = {}
    claimed: set[int] = set()
    for pos, node in enumerate(index.nodes):
        if node.op_type != "ReduceMean" or pos in claimed or node.input[0] not in signal:
            continue
        pattern = _match_at(index, signal, pos, claimed)
        if pattern is not None:
            found[pattern.nodes[0]] = pattern
            claimed.update(pattern.nodes)
    return found


def _match_at(index: GraphIndex, signal: SignalInfo, pos: int, claimed: set[int]) -> NormPattern | None:
    reduced = index.nodes[pos].input[0]
    square = _square_of(index, reduced)
    if square is not None:
        base, seed = square
        return _build(index, signal, base, (seed, pos), claimed, "rmsnorm")
    return _build(index, signal, reduced, (pos,), claimed, "layernorm")


def _square_of(index: GraphIndex, name: str) -> tuple[str, int] | None:
    """(x, position) when `name` is x**2 or x*x read by nothing but the reduction."""
    pos = index.producer.get(name)
    if pos is None or index.nodes[pos].op_type not in _SQUARE_OPS:
        return None
    node = index.nodes[pos]
    squares = node.op_type == "Mul" and node.input[0] == node.input[1]
    if node.op_type == "Pow":
        exponent = constant_values(index, [node.input[1]]).get(node.input[1])
        squares = exponent is not None and exponent.size == 1 and float(exponent) == 2.0
    if not squares or len(index.consumers.get(name, ())) != 1:
        return None
    return node.input[0], pos


def _build(
    index: GraphIndex,
    signal: SignalInfo,
    base: str,
    seed: tuple[int, ...],
    claimed: set[int],
    kind: str,
) -> NormPattern | None:
    def accept(pos: int, region: set[int]) -> bool:
        return pos not in claimed and index.nodes[pos].op_type in _NORM_PATTERN_OPS

    region = grow_region(index, signal, {base}, accept, seed=seed)
    trimmed = single_exit(index, signal, region)
    if trimmed is None:
        return None
    part, exit_pos = trimmed
    if not set(seed) <= set(part) or not _looks_normalized(index, part, base, kind):
        return None
    return NormPattern(tuple(part), exit_pos, kind)


def _looks_normalized(index: GraphIndex, part: list[int], base: str, kind: str) -> bool:
    ops = [index.nodes[pos].op_type for pos in part]
    reads_base = any(
        index.nodes[pos].op_type in ("Sub", "Mul", "Div") and base in index.nodes[pos].input
        for pos in part
    )
    has_root = any(op in _ROOT_OPS for op in ops)
    needed_means = 2 if kind == "layernorm" else 1
    return ops.count("ReduceMean") >= needed_means and has_root and reads_base
