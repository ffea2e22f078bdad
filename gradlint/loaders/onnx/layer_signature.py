"""A key equal for two layers that compute the same function up to their float weights.

The probe tests each layer's Jacobian structure (which axes are independent blocks, which
blocks are equal: `analysis/probe/structure.py`) with a few products. That structure is a
property of the computation, not of the weights' values: the twelve blocks of GPT-2 small
repeat the same eleven layers, and their tests cost 3 s of a 35 s run. Layers with equal
signatures share one test.

What goes in: each node's op, opset and attributes, how its inputs connect (a layer input by
position, an earlier node's output, an initializer, a frozen value), the layer inputs'
shapes. Values that can decide which entries meet enter by value: integer and boolean
tensors (reshape targets, indices, masks), frozen values (masks computed outside the layer),
small float tensors (up to `_VALUE_LIMIT` entries: scales, epsilons). Large float
initializers (weights) enter by dtype, shape and where they hold zeros or mask-like
magnitudes (|w| >= 1e4, non-finite), so a pruned weight or a stored additive mask is not
mistaken for a dense one. Layers with subgraphs (control flow) get no signature.
"""
from __future__ import annotations

import hashlib
from typing import Hashable, Mapping

import torch

from gradlint.loaders.onnx.layer_taps import LayerPlan, LayerSnapshot

_VALUE_LIMIT = 64
_MASK_MAGNITUDE = 1e4


def layer_signature(
    plan: LayerPlan, snapshot: LayerSnapshot, initializers: Mapping[str, torch.Tensor]
) -> Hashable | None:
    roles: dict[str, Hashable] = {name: ("input", i) for i, name in enumerate(snapshot.input_names)}
    for name, value in snapshot.frozen.items():
        roles.setdefault(name, ("frozen", _exact(value)))
    nodes = []
    for index, node in enumerate(plan.nodes):
        if node.subgraphs:
            return None
        inputs = tuple(_role(name, roles, initializers) for name in node.inputs)
        attributes = tuple(sorted((key, _frozen(value)) for key, value in node.attrs.items()))
        nodes.append((node.op_type, node.domain, node.opset, inputs, attributes))
        for position, output in enumerate(node.outputs):
            roles[output] = ("node", index, position)
    shapes = tuple(tuple(shape) for shape in snapshot.input_shapes)
    return tuple(nodes), shapes, roles.get(plan.output)


def describe(value: torch.Tensor) -> Hashable:
    """dtype and shape, plus the values where they can change which entries interact."""
    if not value.is_floating_point() or value.numel() <= _VALUE_LIMIT:
        return _exact(value)
    with torch.no_grad():
        special = (value == 0) | ~(value.abs() < _MASK_MAGNITUDE)
    pattern = _digest(special) if bool(special.any()) else "dense"
    return str(value.dtype), tuple(value.shape), pattern


def _exact(value: torch.Tensor) -> Hashable:
    return str(value.dtype), tuple(value.shape), _digest(value)


def _digest(value: torch.Tensor) -> str:
    data = value.detach().cpu().contiguous()
    if data.dtype == torch.bfloat16:
        data = data.float()
    return hashlib.sha1(data.numpy().tobytes()).hexdigest()


def _role(name: str, roles: Mapping[str, Hashable], initializers: Mapping[str, torch.Tensor]) -> Hashable:
    if not name:
        return None
    if name in roles:
        return roles[name]
    if name in initializers:
        return ("initializer", describe(initializers[name]))
    return ("unknown", name)  # read from outside without a recorded value: never shared


def _frozen(value: object) -> Hashable:
    if isinstance(value, torch.Tensor):
        return describe(value)
    if isinstance(value, (list, tuple)):
        return tuple(_frozen(item) for item in value)
    if isinstance(value, dict):
        return tuple(sorted((str(k), _frozen(v)) for k, v in value.items()))
    if isinstance(value, (str, int, float, bool, bytes)) or value is None:
        return value
    return ("object", type(value).__name__, id(value))  # unknown kinds: never equal across nodes
