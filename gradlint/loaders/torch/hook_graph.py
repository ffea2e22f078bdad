"""A LayerGraph from forward hooks on leaf modules, for modules torch.export cannot trace.

Layers are the leaf modules that hold parameters plus activation and normalization modules,
in the order they first run; edges chain them in that order (hooks cannot see merges).
A weight layer takes the activation of the module that runs right after it (a normalization
module in between is looked through) and the normalization when one follows directly.
"""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import torch
from torch import nn

from gradlint.loaders.torch.weight_stats import weight_stats
from gradlint.model import Layer, LayerGraph, LayerKind

_RECURRENT = (nn.RNNBase,)
_CONV = (nn.modules.conv._ConvNd,)
_NORM_NAMES = {
    # The ONNX and torch.export graphs' vocabulary, so rules read one set of names.
    "BatchNorm": "batchnorm", "SyncBatchNorm": "batchnorm", "InstanceNorm": "instancenorm",
    "LayerNorm": "layernorm", "GroupNorm": "groupnorm", "RMSNorm": "rmsnorm",
    "LocalResponseNorm": "lrn",
}
_ACTIVATION_NAMES = {
    "ReLU": "relu", "ReLU6": "relu6", "LeakyReLU": "leaky_relu", "PReLU": "prelu", "RReLU": "rrelu",
    "ELU": "elu", "SELU": "selu", "CELU": "celu", "GELU": "gelu", "SiLU": "silu", "Mish": "mish",
    "Sigmoid": "sigmoid", "Tanh": "tanh", "Hardtanh": "hardtanh", "Hardsigmoid": "hardsigmoid",
    "Hardswish": "hardswish", "Softplus": "softplus", "Softsign": "softsign", "Softmax": "softmax",
    "LogSoftmax": "log_softmax", "GLU": "glu", "LogSigmoid": "logsigmoid", "Threshold": "threshold",
    "Tanhshrink": "tanhshrink", "NewGELUActivation": "gelu", "GELUActivation": "gelu",
    "FastGELUActivation": "gelu", "QuickGELUActivation": "gelu", "GELUTanh": "gelu",
    "PytorchGELUTanh": "gelu", "SiLUActivation": "silu", "ClippedGELUActivation": "gelu",
}


def activation_name(module: nn.Module) -> str | None:
    """The activation a module computes, in torch's lowercase names; None if it is not one."""
    name = type(module).__name__
    if name in _ACTIVATION_NAMES:
        return _ACTIVATION_NAMES[name]
    if type(module).__module__.startswith(("torch.nn.modules.activation", "transformers.activations")):
        return name.lower().removesuffix("activation") or None
    return None


def normalization_name(module: nn.Module) -> str | None:
    name = type(module).__name__
    for prefix, norm in _NORM_NAMES.items():
        if name.startswith(prefix) or name.endswith(prefix):
            return norm
    return None


def layer_kind(module: nn.Module) -> LayerKind:
    if isinstance(module, _CONV):
        return LayerKind.CONV
    if isinstance(module, (nn.Linear, nn.Bilinear)) or type(module).__name__ == "Conv1D":
        return LayerKind.LINEAR
    if isinstance(module, (nn.Embedding, nn.EmbeddingBag)):
        return LayerKind.EMBEDDING
    if isinstance(module, _RECURRENT):
        return LayerKind.RECURRENT
    if normalization_name(module) is not None:
        return LayerKind.NORM
    if "Pool" in type(module).__name__:
        return LayerKind.POOL
    return LayerKind.OTHER


def default_layer_paths(module: nn.Module) -> list[str]:
    """Leaf modules with parameters, activations and norms, in registration order."""
    paths = []
    for path, sub in module.named_modules():
        leaf = next(sub.children(), None) is None
        own_parameters = next(sub.parameters(recurse=False), None) is not None
        if (leaf and own_parameters) or activation_name(sub) or normalization_name(sub):
            paths.append(path)
    return paths


def hook_layer_graph(
    module: nn.Module, example_inputs: Mapping[str, torch.Tensor] | Sequence[torch.Tensor]
) -> LayerGraph:
    """Run `module` once on the examples and chain the layers in the order they ran."""
    order = _execution_order(module, example_inputs)
    modules = dict(module.named_modules())
    graph = LayerGraph()
    previous = None
    for index, path in enumerate(order):
        graph.add_layer(_layer(path, modules, order[index + 1:], depth=index))
        if previous is not None:
            graph.add_edge(previous, path)
        previous = path
    return graph


def _execution_order(module: nn.Module, example_inputs: object) -> list[str]:
    from gradlint.loaders.torch.module_semantics import probe_semantics

    order: list[str] = []
    handles = []
    for path in default_layer_paths(module):
        sub = module.get_submodule(path)
        handles.append(sub.register_forward_hook(lambda *_, path=path: _first(order, path)))
    try:
        with torch.no_grad(), probe_semantics(module, "running"):
            _call(module, example_inputs)
    finally:
        for handle in handles:
            handle.remove()
    return order


def _first(order: list[str], path: str) -> None:
    if path not in order:
        order.append(path)


def _call(module: nn.Module, example_inputs: object) -> None:
    if isinstance(example_inputs, Mapping):
        try:
            module(**example_inputs)
            return
        except TypeError:
            example_inputs = list(example_inputs.values())
    module(*example_inputs)


def _layer(path: str, modules: dict[str, nn.Module], after: list[str], depth: int) -> Layer:
    sub = modules[path]
    kind = layer_kind(sub)
    weight = _main_weight(sub)
    fan_in, fan_out = _fans(sub, kind, weight)
    following = [modules[p] for p in after[:2]]
    return Layer(
        name=path,
        kind=kind,
        op_types=(type(sub).__name__,),
        nodes=(path,),
        output=path,
        fan_in=fan_in,
        fan_out=fan_out,
        weight=weight_stats(weight, fan_in) if weight is not None else None,
        bias_mean=_bias_mean(sub),
        activation=activation_name(sub) or (_next_activation(following) if weight is not None else None),
        normalization=normalization_name(sub) or (
            normalization_name(following[0]) if weight is not None and following else None
        ),
        depth=depth,
    )


def _next_activation(following: list[nn.Module]) -> str | None:
    for module in following:
        name = activation_name(module)
        if name is not None:
            return name
        if normalization_name(module) is None:
            return None
    return None


def _main_weight(module: nn.Module) -> torch.Tensor | None:
    for name in ("weight", "weight_ih_l0"):
        tensor = getattr(module, name, None)
        if isinstance(tensor, torch.Tensor) and tensor.dim() >= 2:
            return tensor
    return None


def _fans(module: nn.Module, kind: LayerKind, weight: torch.Tensor | None) -> tuple[int | None, int | None]:
    if weight is None:
        return None, None
    if kind is LayerKind.EMBEDDING:
        return 1, weight.shape[1]
    if type(module).__name__ == "Conv1D":  # transformers' GPT-2 layer stores W as (in, out)
        return weight.shape[0], weight.shape[1]
    receptive = math.prod(weight.shape[2:])
    return weight.shape[1] * receptive, weight.shape[0] * receptive


def _bias_mean(module: nn.Module) -> float | None:
    bias = getattr(module, "bias", None)
    if isinstance(bias, torch.Tensor) and bias.numel():
        return float(bias.detach().double().mean())
    return None
