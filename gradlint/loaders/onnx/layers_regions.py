"""Growing a region of ops forward from a value, and trimming it to a single exit.

A layer must have one output: the value a tap replaces and the next layer reads. A region is
grown from an entry value over acceptable ops whose signal inputs all come from the entry or
the region itself (so x * sigmoid(x) and x * (1 + erf(x / sqrt 2)) stay whole), then trimmed
to the largest part in which every intermediate value is read only inside it.
"""
from __future__ import annotations

import heapq
from typing import Callable, Collection

from gradlint.loaders.onnx.graph_index import SHAPE_ONLY_OPS, GraphIndex
from gradlint.loaders.onnx.layers_signal import SignalInfo

# Regions are local structures (an activation, a decomposed norm); the cap bounds the cost of
# trimming on pathological graphs.
MAX_REGION = 64

Accept = Callable[[int, set[int]], bool]


def grow_region(
    index: GraphIndex,
    signal: SignalInfo,
    entry: Collection[str],
    accept: Accept,
    seed: Collection[int] = (),
) -> list[int]:
    """Node positions reachable from `entry`/`seed` whose signal inputs all lie inside."""
    region = set(seed)
    produced = set(entry) | {name for pos in seed for name in index.nodes[pos].output}
    candidates = [pos for name in produced for pos in index.consumers.get(name, ())]
    heapq.heapify(candidates)
    while candidates and len(region) < MAX_REGION:
        pos = heapq.heappop(candidates)
        if pos in region:
            continue
        signal_reads = [name for name in index.node_inputs[pos] if name in signal]
        if not signal_reads or any(name not in produced for name in signal_reads):
            continue
        if not accept(pos, region):
            continue
        region.add(pos)
        for name in index.nodes[pos].output:
            produced.add(name)
            for consumer in index.consumers.get(name, ()):
                heapq.heappush(candidates, consumer)
    return sorted(region)


def single_exit(
    index: GraphIndex, signal: SignalInfo, region: list[int], entry: str | None = None
) -> tuple[list[int], int] | None:
    """The predecessor-closed part of `region` ending at the latest possible exit, and that exit.

    A part is valid when only the exit's value escapes it (is read outside or is a graph
    output).

    With `entry`, every (non shape-only) reader of the entry must be inside the part, or the
    entry itself would escape the layer.
    """
    members = set(region)
    for exit_pos in reversed(region):
        part = _ancestors_within(index, exit_pos, members)
        if _is_closed(index, signal, part, exit_pos, entry):
            return sorted(part), exit_pos
    return None


def _ancestors_within(index: GraphIndex, start: int, members: set[int]) -> set[int]:
    found = {start}
    stack = [start]
    while stack:
        for name in index.node_inputs[stack.pop()]:
            pos = index.producer.get(name)
            if pos is not None and pos in members and pos not in found:
                found.add(pos)
                stack.append(pos)
    return found


def _is_closed(
    index: GraphIndex, signal: SignalInfo, part: set[int], exit_pos: int, entry: str | None
) -> bool:
    if entry is not None and not readers_inside(index, signal, entry, part):
        return False
    outputs = set(index.output_names)
    for pos in part:
        if pos == exit_pos:
            continue
        for name in index.nodes[pos].output:
            if name in outputs or not readers_inside(index, signal, name, part):
                return False
    return True


def readers_inside(index: GraphIndex, signal: SignalInfo, name: str, part: set[int]) -> bool:
    """Every reader of `name` that passes the signal on is in `part`.

    Readers that only look at shapes, or turn the values into side information (IsNaN in
    torch's attention, a comparison building a mask), do not make the value escape.
    """
    return all(pos in part or not carries_signal(index, signal, pos) for pos in index.consumers.get(name, ()))


def carries_signal(index: GraphIndex, signal: SignalInfo, pos: int) -> bool:
    node = index.nodes[pos]
    return node.op_type not in SHAPE_ONLY_OPS and any(name in signal for name in node.output)
