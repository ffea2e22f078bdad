"""The data model every stage shares: layers, the layer graph, inputs and the loaded model.

A loader turns a file into a `LoadedModel`: something gradlint can run differentiably in torch
(`Runnable`), a description of its inputs (`InputSpec`), and a `LayerGraph` whose nodes are
layers in the sense of DESIGN.md (a weight-bearing op plus the elementwise ops that follow it).
Analyses annotate layers by name; rules read the graph and those annotations.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Callable, Iterator, Mapping, Protocol, Sequence

import networkx as nx
import torch

from gradlint.findings import Location


class LayerKind(str, enum.Enum):
    """What a layer is, for rules that reason about architecture."""

    INPUT = "input"
    LINEAR = "linear"  # Gemm, MatMul with a constant operand, nn.Linear
    CONV = "conv"
    EMBEDDING = "embedding"  # Gather from a constant table
    RECURRENT = "recurrent"  # LSTM, GRU, RNN
    NORM = "norm"  # normalization not fused into a weight layer
    ATTENTION = "attention"  # MatMul of two activations (scores, context)
    ADD = "add"  # residual merge: Add/Sum of two or more activation paths
    CONCAT = "concat"
    POOL = "pool"
    OTHER = "other"  # reshapes and elementwise ops with no weight layer before them
    OUTPUT = "output"


@dataclass(frozen=True)
class WeightStats:
    """Statistics of a layer's main weight; `scaled_std` = std * sqrt(fan_in) (He: sqrt(2))."""

    shape: tuple[int, ...]
    mean: float
    std: float
    scaled_std: float
    abs_max: float
    zero_fraction: float
    finite: bool = True


@dataclass(frozen=True)
class Layer:
    """One node of the LayerGraph.

    `output` names the tensor whose value is the layer's output (an ONNX value name or an
    aten node name); `nodes` lists the underlying ops the layer covers, in execution order.
    """

    name: str
    kind: LayerKind
    op_types: tuple[str, ...] = ()
    nodes: tuple[str, ...] = ()
    output: str = ""
    fan_in: int | None = None
    fan_out: int | None = None
    weight: WeightStats | None = None
    bias_mean: float | None = None
    activation: str | None = None
    normalization: str | None = None
    location: Location | None = None
    depth: int = 0


class LayerGraph:
    """Layers and the data flow between them, on a networkx DiGraph keyed by layer name."""

    def __init__(self, graph: nx.DiGraph | None = None) -> None:
        self.graph: nx.DiGraph = graph if graph is not None else nx.DiGraph()

    def add_layer(self, layer: Layer) -> None:
        self.graph.add_node(layer.name, layer=layer)

    def add_edge(self, source: str, target: str) -> None:
        if source != target:
            self.graph.add_edge(source, target)

    def layer(self, name: str) -> Layer:
        return self.graph.nodes[name]["layer"]

    def __contains__(self, name: object) -> bool:
        return name in self.graph

    def __len__(self) -> int:
        return self.graph.number_of_nodes()

    def layers(self) -> list[Layer]:
        """Layers in a deterministic topological order (ties broken by insertion order)."""
        order = {name: i for i, name in enumerate(self.graph.nodes)}
        names = nx.lexicographical_topological_sort(self.graph, key=lambda n: order[n])
        return [self.layer(name) for name in names]

    def __iter__(self) -> Iterator[Layer]:
        return iter(self.layers())

    def predecessors(self, name: str) -> list[str]:
        return list(self.graph.predecessors(name))

    def successors(self, name: str) -> list[str]:
        return list(self.graph.successors(name))

    def weight_layers(self) -> list[Layer]:
        weighted = {LayerKind.LINEAR, LayerKind.CONV, LayerKind.EMBEDDING, LayerKind.RECURRENT}
        return [layer for layer in self.layers() if layer.kind in weighted]


@dataclass(frozen=True)
class InputSpec:
    """One model input as the probes will synthesise it.

    `shape` has every dim resolved. Integer inputs are drawn uniformly from [low, high);
    a `value` makes the input a fixed scalar (control inputs such as a sample rate).
    """

    name: str
    shape: tuple[int, ...]
    dtype: torch.dtype
    low: int = 0
    high: int = 2
    value: float | None = None
    batch_axis: int | None = 0

    @property
    def is_float(self) -> bool:
        return self.dtype.is_floating_point and self.value is None


# A tap sees every layer as it runs: (layer name, the layer's input tensors, its output) and
# returns the tensor to pass on downstream (the output itself, or a stand-in the probe made).
Tap = Callable[[str, Sequence[torch.Tensor], torch.Tensor], torch.Tensor]


class Runnable(Protocol):
    """A model gradlint can run differentiably, on any device, layer by layer."""

    def forward(
        self, inputs: Mapping[str, torch.Tensor], tap: Tap | None = None
    ) -> dict[str, torch.Tensor]:
        """Run the model; outputs by name. Calls `tap` once per layer in execution order."""
        ...

    def layer_function(self, layer: str) -> Callable[..., torch.Tensor]:
        """The layer alone, as a function of the input tensors its tap received."""
        ...

    def to(self, device: torch.device, dtype: torch.dtype | None = None) -> "Runnable":
        ...

    def set_norm_mode(self, mode: str) -> None:
        """'batch': normalization uses batch statistics; 'running': the stored ones."""
        ...

    def named_parameters(self) -> Iterator[tuple[str, torch.Tensor]]:
        """The trainable float tensors (leaf tensors the probe may set requires_grad on)."""
        ...


@dataclass(frozen=True)
class Diagnostic:
    """Something a loader or analysis noticed about the tool's own health (GL9xx).

    `kind` is a stable key rules match on: 'unsupported-op', 'parity-mismatch',
    'postprocessing-cut', 'graph-fallback', 'probe-skipped', ...
    """

    kind: str
    message: str
    node: str | None = None
    op_type: str | None = None
    details: Mapping[str, object] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class LoadedModel:
    """What every loader returns."""

    path: str
    format: str  # "onnx", "pt2", "torchscript", "python", "pickle"
    runnable: Runnable | None  # None when the model cannot be executed (unsupported ops)
    inputs: tuple[InputSpec, ...]
    graph: LayerGraph
    diagnostics: tuple[Diagnostic, ...] = ()
    source: object | None = field(default=None, compare=False)  # ModelProto, nn.Module, ...
