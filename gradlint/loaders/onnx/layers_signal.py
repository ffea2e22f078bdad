"""Which values carry the signal gradients flow through, as opposed to plumbing.

The signal starts at float model inputs and at embedding lookups (Gather from a constant float
table with data-dependent integer indices), and follows every op whose output is float. Shape
arithmetic (Shape, Gather on shapes, Concat of ints...) never becomes signal, and neither do
floats derived from integer inputs by a Cast (an attention mask turned into a -10000 bias):
those are side inputs, not paths a gradient flows along. A model with no float input and no
embedding (an image model taking uint8) falls back to treating its first float values derived
from an input as the signal's start.
"""
from __future__ import annotations

from dataclasses import dataclass

import onnx

from gradlint.loaders.onnx.graph_index import SHAPE_ONLY_OPS, GraphIndex


@dataclass(frozen=True)
class SignalInfo:
    values: frozenset[str]
    embeddings: frozenset[int]  # positions (in index.nodes) of embedding lookups

    def __contains__(self, name: object) -> bool:
        return name in self.values


def find_signal(index: GraphIndex) -> SignalInfo:
    embeddings = frozenset(
        i for i, node in enumerate(index.nodes) if is_embedding_lookup(index, node)
    )
    sources = {name for name in index.input_names if index.is_float(name)}
    values = _propagate(index, sources, embeddings, from_casts=False)
    if not values:
        values = _propagate(index, sources, embeddings, from_casts=True)
    return SignalInfo(frozenset(values), embeddings)


def is_embedding_lookup(index: GraphIndex, node: onnx.NodeProto) -> bool:
    if node.op_type != "Gather" or len(node.input) < 2:
        return False
    table, ids = node.input[0], node.input[1]
    axis = next((a.i for a in node.attribute if a.name == "axis"), 0)
    return (
        axis == 0
        and table in index.constants
        and index.is_float(table)
        and ids in index.data_dependent
        and not index.is_float(ids)
    )


def _propagate(
    index: GraphIndex, sources: set[str], embeddings: frozenset[int], from_casts: bool
) -> set[str]:
    signal = set(sources)
    for position, (node, reads) in enumerate(zip(index.nodes, index.node_inputs)):
        if node.op_type in SHAPE_ONLY_OPS:
            continue
        carries = position in embeddings or any(name in signal for name in reads)
        if not carries and from_casts:
            carries = any(name in index.data_dependent for name in reads)
        if carries:
            signal.update(name for name in node.output if name and index.is_float(name))
    return signal
