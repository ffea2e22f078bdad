"""A key equal for two layers that compute the same function up to their float weights.

The probe tests each layer's Jacobian structure (which axes are independent blocks, which
blocks are equal: `analysis/probe/structure.py`) with a few products. That structure is a
property of the computation, not of the weights' values: the twelve blocks of GPT-2 small
repeat the same eleven layers, and their tests cost 3 s of a 35 s run. Layers with equal
signatures share one test.

What goes in: each node's op, opset and attributes, how its inputs connect (a layer input by
position, an earlier node's output, an initializer, a frozen value), the layer inputs'
shapes. Values that can decide which entries meet enter by value: integer and boolean
tensors (reshape targets, indices, masks, also when computed outside the layer), small float
tensors (up to `_VALUE_LIMIT` entries: scales, epsilons). Large float tensors (weights, and
constants computed from them such as a transposed LM head) enter by dtype and shape, plus
where they hold mask-like magnitudes (|w| >= 1e4, non-finite) or zeros, the latter when
they are more than `_SPARSE_FRACTION` of the entries: a stored additive mask, a pruned
kernel or a diagonal (identity-initialised) weight changes which entries meet, while the odd
exact zero of a random float32 init (GPT-2 small has a few) cannot. Layers with subgraphs
(control flow) get no signature.
"""
from __future__ import annotations

import hashlib
from typing import Hashable, Mapping

import torch

from gradlint.loaders.onnx.layer_taps import LayerPlan, LayerSnapshot

_VALUE_LIMIT = 64
_MASK_MAGNITUDE = 1e4
_SPARSE_FRACTION = 0.01
_CHUNK = 1 << 18


def layer_signature(
    plan: LayerPlan, snapshot: LayerSnapshot, initializers: Mapping[str, torch.Tensor]
) -> Hashable | None:
    roles: dict[str, Hashable] = {name: ("input", i) for i, name in enumerate(snapshot.input_names)}
    for name, value in snapshot.frozen.items():
        roles.setdefault(name, ("frozen", describe(value)))
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
    head = (str(value.dtype), tuple(value.shape))
    if not value.is_floating_point() or value.numel() <= _VALUE_LIMIT:
        return (*head, _digest(value))
    with torch.no_grad():
        low, high = torch.aminmax(value)
    if not (bool(low > -_MASK_MAGNITUDE) and bool(high < _MASK_MAGNITUDE)):  # NaN fails too
        count = value.numel()  # mask-like entries: always by pattern
    else:
        count = sum(int(chunk.eq(0).view(torch.uint8).sum(dtype=torch.int32)) for chunk in _chunks(value))
    return (*head, _digest(_special(value)) if count > _SPARSE_FRACTION * value.numel() else "dense")


def _special(value: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        return (value == 0) | ~(value.abs() < _MASK_MAGNITUDE)  # NaN fails the comparison


def _chunks(value: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Flat views of `_CHUNK` entries: temporaries of that size are reused from the heap,
    where whole-weight ones (GPT-2: 124M entries) were fresh pages each time and doubled the
    cost of all signatures. A non-contiguous tensor is taken whole (row chunks of a
    transposed LM head ran 10x slower)."""
    if not value.is_contiguous():
        return (value,)
    return value.reshape(-1).split(_CHUNK)


def _digest(value: torch.Tensor) -> str:
    """Of the values; an expanded (stride-0) axis is hashed once (the shape says its length,
    the digest which axes were expanded)."""
    expanded = tuple(step == 0 for step in value.stride())
    compact = value.detach()[tuple(slice(0, 1) if flag else slice(None) for flag in expanded)]
    # As bytes: numpy has no bfloat16 or float8, and a byte view of any dtype hashes as is.
    data = compact.cpu().contiguous().reshape(-1).view(torch.uint8)
    digest = hashlib.sha1(repr(expanded).encode())
    digest.update(memoryview(data.numpy()))
    return digest.hexdigest()


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
