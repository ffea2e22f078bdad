"""Cut the signal-carrying nodes of a graph into layers.

Nodes are visited in topological order. A node nobody has claimed starts a layer: an anchor
(weight op, norm, pool, merge) gives the layer its kind, anything else starts an OTHER layer.
The new layer then grows forward over absorbable ops (activations, bias adds, reshapes,
BatchNorm after a conv) as long as it keeps a single output.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from gradlint.loaders.onnx.graph_index import GraphIndex
from gradlint.loaders.onnx.layers_ops import (
    MERGE_ADD_OPS, NORM_OPS, POOL_OPS, REDUCE_OPS, weight_kind,
)
from gradlint.loaders.onnx.layers_patterns import NormPattern, find_norm_patterns
from gradlint.loaders.onnx.layers_regions import carries_signal, grow_region, single_exit
from gradlint.loaders.onnx.layers_signal import SignalInfo
from gradlint.model import LayerKind

# Data movement with no arithmetic: a chain of these between a fork and a layer's op becomes
# the head of that layer (keras' Tensordot reshapes before every MatMul) instead of a layer.
PLUMBING_OPS = frozenset(
    {"Reshape", "Transpose", "Squeeze", "Unsqueeze", "Flatten", "Identity", "Slice", "Expand",
     "Dropout", "Gather"}
)
# Ops whose subgraphs we cannot see into: each is a layer of its own.
_OPAQUE_OPS = frozenset({"If", "Loop", "Scan"})
_FOLDABLE_INTO = (LayerKind.CONV, LayerKind.LINEAR)


@dataclass
class Segment:
    """Positions of a layer's nodes; `anchor` is the op that gives the layer its kind."""

    kind: LayerKind
    anchor: int
    nodes: list[int]
    tail: str
    normalization: str | None = None


@dataclass
class Segmenter:
    index: GraphIndex
    signal: SignalInfo
    segments: list[Segment] = field(default_factory=list)
    owner: dict[int, int] = field(default_factory=dict)
    _reserved: set[int] = field(default_factory=set)  # nodes of decomposed norms
    _heads: dict[int, list[int]] = field(default_factory=dict)  # anchor -> plumbing before it

    def run(self) -> list[Segment]:
        patterns = find_norm_patterns(self.index, self.signal)
        in_pattern = {pos for pattern in patterns.values() for pos in pattern.nodes}
        self._reserved.update(in_pattern)
        for pos in range(len(self.index.nodes)):
            if pos in patterns:
                segment = self._from_pattern(patterns[pos])
            elif self._taken(pos) or not carries_signal(self.index, self.signal, pos):
                continue
            else:
                kind = self._anchor_kind(pos)
                if kind is None and self._reserve_as_head(pos):
                    continue
                head = self._heads.pop(pos, [])
                tail = primary_output(self.index, self.signal, pos)
                segment = Segment(kind or LayerKind.OTHER, pos, sorted([*head, pos]), tail)
            self._claim(segment, segment.nodes)
            self._grow(segment)
        return self.segments

    def _reserve_as_head(self, pos: int) -> bool:
        """Reserve a plumbing chain starting at `pos` for the anchor it leads to."""
        chain = [pos]
        while self.index.nodes[chain[-1]].op_type in PLUMBING_OPS:
            readers = self._value_readers(chain[-1])
            if len(readers) != 1 or readers[0] in self.owner or readers[0] in self._reserved:
                return False
            reader = readers[0]
            if self._anchor_kind(reader) is not None:
                self._heads.setdefault(reader, []).extend(chain)
                self._reserved.update(chain)
                return True
            chain.append(reader)
        return False

    def _value_readers(self, pos: int) -> list[int]:
        """Nodes reading `pos`'s primary output for its values (shape reads do not count)."""
        name = primary_output(self.index, self.signal, pos)
        if name in self.index.output_names:
            return []
        readers = self.index.consumers.get(name, ())
        return [r for r in dict.fromkeys(readers) if carries_signal(self.index, self.signal, r)]

    def _from_pattern(self, pattern: NormPattern) -> Segment:
        tail = primary_output(self.index, self.signal, pattern.exit)
        return Segment(LayerKind.NORM, pattern.nodes[0], list(pattern.nodes), tail, pattern.kind)

    def _claim(self, segment: Segment, positions: list[int]) -> None:
        if not self.segments or self.segments[-1] is not segment:
            self.segments.append(segment)
        for pos in positions:
            self.owner[pos] = len(self.segments) - 1

    def _grow(self, segment: Segment) -> None:
        while segment.tail not in self.index.output_names:
            def accept(pos: int, region: set[int]) -> bool:
                return self._absorbable(pos, segment, region)

            region = grow_region(self.index, self.signal, {segment.tail}, accept)
            trimmed = single_exit(self.index, self.signal, region, segment.tail) if region else None
            if trimmed is None:
                return
            part, exit_pos = trimmed
            segment.nodes.extend(part)
            self._claim(segment, part)
            segment.tail = primary_output(self.index, self.signal, exit_pos)

    def _taken(self, pos: int) -> bool:
        return pos in self.owner or pos in self._reserved

    def _signal_reads(self, pos: int) -> list[str]:
        return list(dict.fromkeys(n for n in self.index.node_inputs[pos] if n in self.signal))

    def _anchor_kind(self, pos: int) -> LayerKind | None:
        """The kind of layer `pos` starts, or None for an op that can join a layer."""
        node = self.index.nodes[pos]
        op = node.op_type
        reads = self._signal_reads(pos)
        if pos in self.signal.embeddings:
            return LayerKind.EMBEDDING
        kind = weight_kind(op)
        if kind is LayerKind.LINEAR and len(reads) >= 2:
            return LayerKind.ATTENTION
        if kind is not None:
            return kind
        if op in NORM_OPS:
            return LayerKind.NORM
        if op in POOL_OPS or (op in REDUCE_OPS and not self._recombines(pos)):
            return LayerKind.POOL
        if op in MERGE_ADD_OPS and len(reads) >= 2:
            return LayerKind.ADD
        if op == "Concat" and len(reads) >= 2:
            return LayerKind.CONCAT
        if op in _OPAQUE_OPS:
            return LayerKind.OTHER
        return None

    def _absorbable(self, pos: int, segment: Segment, region: set[int]) -> bool:
        if self._taken(pos) or not carries_signal(self.index, self.signal, pos):
            return False
        op = self.index.nodes[pos].op_type
        if op == "BatchNormalization":
            return segment.kind in _FOLDABLE_INTO and not self._has_batchnorm(segment, region)
        kind = self._anchor_kind(pos)
        # Adds and concats of values from inside the region (x + 0.044715 x^3 in tanh-GELU,
        # rotate_half in rotary embeddings) are arithmetic on one path, not merges of two.
        return kind in (None, LayerKind.ADD, LayerKind.CONCAT)

    def _has_batchnorm(self, segment: Segment, region: set[int]) -> bool:
        positions = [*segment.nodes, *region]
        return any(self.index.nodes[p].op_type == "BatchNormalization" for p in positions)

    def _recombines(self, pos: int) -> bool:
        """A reduction whose result meets its own input again (x - max(x), e / sum(e))."""
        source = self.index.nodes[pos].input[0]
        for name in self.index.nodes[pos].output:
            for reader in self.index.consumers.get(name, ()):
                if source in self.index.node_inputs[reader]:
                    return True
        return False


def segment_layers(index: GraphIndex, signal: SignalInfo) -> list[Segment]:
    return Segmenter(index, signal).run()


def primary_output(index: GraphIndex, signal: SignalInfo, pos: int) -> str:
    """The output a layer ending at `pos` hands on: the first signal output in use."""
    outputs = [name for name in index.nodes[pos].output if name]
    used = [n for n in outputs if n in signal and (n in index.consumers or n in index.output_names)]
    carrying = [name for name in outputs if name in signal]
    return (used or carrying or outputs or [""])[0]
