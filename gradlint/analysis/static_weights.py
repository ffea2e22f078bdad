"""A layer's weight tensors, for facts WeightStats cannot carry: identical rows, orthogonality,
recurrent spectral radius.

Tensors are found through the loaded model, never copied into the LayerGraph:
- ONNX (`source` is the ModelProto): the initializers the layer's nodes read, by name, taken
  from `runnable.named_parameters()` (or decoded from the proto when nothing can run);
- PyTorch: the parameters whose module path is the layer's name (`blocks.0.fc1.weight` for
  layer `blocks.0.fc1`; `path@N`, the N-th call of a module, shares its parameters).
The main weight is the tensor whose shape is `layer.weight.shape`. Everything here is lazy and
per layer: rules that need a tensor ask for it; nothing is read when they are not selected.
"""
from __future__ import annotations

import functools
import math
from contextlib import contextmanager
from typing import Callable, Iterator, Mapping, TypeVar

import torch

from gradlint.model import Layer, LayerKind, LoadedModel

_ORTHOGONAL_TOLERANCE = 1e-3  # max |W W^T / c - I|: orthogonal_() is exact to float rounding
_MAX_DENSE_DIM = 4096  # larger matrices are not decomposed (cost), the fact stays unknown
_RECURRENT_INPUT = {"LSTM": 2, "GRU": 2, "RNN": 2}  # ONNX: input index of R
_GATES = {"LSTM": 4, "GRU": 3, "RNN": 1, "lstm": 4, "gru": 3, "rnn_tanh": 1, "rnn_relu": 1}


Result = TypeVar("Result")


@contextmanager
def _one_thread() -> Iterator[None]:
    """Small dense algebra runs on one thread: on a busy CPU, torch's thread pool spins and a
    128x128 product takes 50 ms instead of 0.2 ms."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _single_threaded(function: Callable[..., Result]) -> Callable[..., Result]:
    @functools.wraps(function)
    def wrapper(*args: object, **kwargs: object) -> Result:
        with _one_thread():
            return function(*args, **kwargs)

    return wrapper


def layer_parameters(model: LoadedModel, layer: Layer) -> dict[str, torch.Tensor]:
    """The parameter tensors the layer reads, by name (empty when they cannot be found)."""
    try:
        if model.format == "onnx" and _is_model_proto(model.source):
            return _onnx_parameters(model, layer)
        return _module_parameters(model, layer)
    except Exception:  # a model we cannot read into is a fact we do not know, not a crash
        return {}


def main_weight(model: LoadedModel, layer: Layer) -> torch.Tensor | None:
    """The layer's main weight (the tensor `layer.weight` describes), detached, float64, CPU."""
    if layer.weight is None:
        return None
    shape = tuple(layer.weight.shape)
    for name, tensor in layer_parameters(model, layer).items():
        if tuple(tensor.shape) == shape:
            return tensor.detach().to("cpu", torch.float64)
    return None


def unit_rows(weight: torch.Tensor, fan_in: int | None) -> torch.Tensor:
    """One row per output unit: (out, in, k...) -> (out, in*k...); Conv1D's (in, out) -> (out, in)."""
    if weight.dim() == 2 and fan_in is not None and weight.shape[1] != fan_in and weight.shape[0] == fan_in:
        return weight.t()
    return weight.reshape(weight.shape[0], -1)


@_single_threaded
def rows_identical(model: LoadedModel, layer: Layer) -> bool | None:
    """True when every output unit has the same incoming weights (None: weight unavailable)."""
    weight = main_weight(model, layer)
    if weight is None:
        return None
    rows = unit_rows(weight, layer.fan_in)
    if rows.shape[0] < 2 or not torch.equal(rows[0], rows[1]):
        return False
    return bool((rows == rows[0:1]).all())


@_single_threaded
def columns_identical(model: LoadedModel, layer: Layer) -> bool | None:
    """True when every input unit (feature or channel) has the same outgoing weights here."""
    weight = main_weight(model, layer)
    if weight is None:
        return None
    if weight.dim() == 2 and layer.fan_in is not None and weight.shape[1] != layer.fan_in:
        weight = weight.t()  # stored (in, out)
    if weight.shape[1] > 1 and not torch.equal(weight[:, 0], weight[:, 1]):
        return False
    return bool((weight == weight[:, 0:1]).all())


@_single_threaded
def is_orthogonal(model: LoadedModel, layer: Layer) -> bool | None:
    """True when the weight is orthogonal up to a gain: its Gram matrix is c * I."""
    weight = main_weight(model, layer)
    if weight is None or max(weight.shape) > _MAX_DENSE_DIM:
        return None
    rows = unit_rows(weight, layer.fan_in)
    gram = rows @ rows.t() if rows.shape[0] <= rows.shape[1] else rows.t() @ rows
    scale = float(gram.diagonal().mean())
    if scale <= 0:
        return False
    deviation = (gram / scale - torch.eye(gram.shape[0], dtype=gram.dtype)).abs().max()
    return float(deviation) <= _ORTHOGONAL_TOLERANCE


@_single_threaded
def recurrent_radii(model: LoadedModel, layer: Layer) -> tuple[float, ...] | None:
    """Spectral radius of each gate's hidden-to-hidden block, per direction and stack layer."""
    if layer.kind != LayerKind.RECURRENT:
        return None
    matrices = _recurrent_matrices(model, layer)
    if not matrices:
        return None
    gates = _gate_count(layer)
    radii = []
    for matrix in matrices:
        hidden = matrix.shape[-1]
        blocks = matrix.reshape(-1, hidden)
        if blocks.shape[0] % hidden or hidden > _MAX_DENSE_DIM:
            continue
        for block in blocks.split(hidden, dim=0)[: gates * (blocks.shape[0] // hidden)]:
            radii.append(float(torch.linalg.eigvals(block).abs().max()))
    return tuple(radii) or None


def _recurrent_matrices(model: LoadedModel, layer: Layer) -> list[torch.Tensor]:
    parameters = layer_parameters(model, layer)
    if model.format == "onnx" and _is_model_proto(model.source):
        names = _onnx_recurrent_names(model.source, layer)
        return [parameters[n].detach().to("cpu", torch.float64) for n in names if n in parameters]
    return [
        tensor.detach().to("cpu", torch.float64)
        for name, tensor in parameters.items()
        if name.rsplit(".", 1)[-1].startswith("weight_hh")
    ]


def _gate_count(layer: Layer) -> int:
    for op in layer.op_types:
        if op in _GATES:
            return _GATES[op]
    return 1


def _is_model_proto(source: object) -> bool:
    return type(source).__name__ == "ModelProto"


def _onnx_nodes(proto: object, layer: Layer) -> list:
    wanted = set(layer.nodes)
    return [node for node in proto.graph.node if node.name in wanted]


def _onnx_recurrent_names(proto: object, layer: Layer) -> list[str]:
    names = []
    for node in _onnx_nodes(proto, layer):
        index = _RECURRENT_INPUT.get(node.op_type)
        if index is not None and len(node.input) > index:
            names.append(node.input[index])
    return names


def _onnx_parameters(model: LoadedModel, layer: Layer) -> dict[str, torch.Tensor]:
    """Tensors the layer's nodes read, by input name, through Identity aliases (exporters
    deduplicate equal initializers into one initializer and Identity copies of it)."""
    aliases = _identity_sources(model.source)
    read = {name for node in _onnx_nodes(model.source, layer) for name in node.input if name}
    sources = {name: _follow(aliases, name) for name in read}
    known = _named_parameters(model)
    missing = {source for source in sources.values() if source not in known}
    decoded = _decoded_initializers(model.source, missing) if missing else {}
    found = {name: known.get(source, decoded.get(source)) for name, source in sources.items()}
    return {name: tensor for name, tensor in found.items() if tensor is not None}


def _identity_sources(proto: object) -> dict[str, str]:
    return {node.output[0]: node.input[0] for node in proto.graph.node if node.op_type == "Identity" and node.input}


def _follow(aliases: Mapping[str, str], name: str) -> str:
    seen = set()
    while name in aliases and name not in seen:
        seen.add(name)
        name = aliases[name]
    return name


def _decoded_initializers(proto: object, names: set[str]) -> dict[str, torch.Tensor]:
    from onnx import numpy_helper

    decoded = {}
    for initializer in proto.graph.initializer:
        if initializer.name in names and initializer.data_location != 1:  # 1: external data
            array = numpy_helper.to_array(initializer)
            if array.dtype.kind == "f":
                decoded[initializer.name] = torch.from_numpy(array.copy())
    return decoded


def _module_parameters(model: LoadedModel, layer: Layer) -> dict[str, torch.Tensor]:
    path = layer.name.split("@", 1)[0]
    prefix = f"{path}."
    return {
        name: tensor
        for name, tensor in _named_parameters(model).items()
        if name.startswith(prefix) and "." not in name[len(prefix):]
    }


def _named_parameters(model: LoadedModel) -> Mapping[str, torch.Tensor]:
    """The module's own names when the source is an nn.Module (they are the layer paths)."""
    source = model.source
    if isinstance(source, torch.nn.Module):
        return dict(source.named_parameters())
    if model.runnable is not None:
        return dict(model.runnable.named_parameters())
    return {}


def onnx_output_scale(model: LoadedModel, layer: Layer) -> float:
    """Mean square of the learned per-channel scales an ONNX layer multiplies its output by.

    An exported LayerScale (x * gamma) is a Mul by a vector initializer, folded into the weight
    layer before it. Scalar constants are not counted: they are indistinguishable from the
    constants of decomposed activations (GELU's 0.5), so an exported scalar SkipInit is missed.
    """
    if model.format != "onnx" or not _is_model_proto(model.source) or "Mul" not in layer.op_types:
        return 1.0
    parameters = layer_parameters(model, layer)
    main = tuple(layer.weight.shape) if layer.weight is not None else None
    factor = 1.0
    for node in _onnx_nodes(model.source, layer):
        if node.op_type != "Mul":
            continue
        for name in node.input:
            tensor = parameters.get(name)
            if tensor is not None and tensor.numel() > 1 and tuple(tensor.shape) != main:
                factor *= rms(tensor) ** 2
    return factor


def rms(tensor: torch.Tensor) -> float:
    """Root mean square of a tensor's entries."""
    return math.sqrt(float(tensor.detach().double().pow(2).mean())) if tensor.numel() else 0.0
