"""Readable, stable, unique layer names derived from ONNX node names.

torch.onnx's TorchScript exporter names nodes after the module path: "/layer1/conv1/Conv" is
the layer "layer1.conv1". Its dynamo exporter names nodes "node_MatMul_55" but records the
module path in the node's metadata ("pkg.torch.onnx.name_scopes"), which is used instead.
Branches inlined from an `If` carry a prefix ("If_0_else_branch__Inline_0__/encoder/0/...")
that is dropped. Names that do not look like module paths are kept as they are.
"""
from __future__ import annotations

import ast
import re

import onnx

# A final path segment naming the op itself: "Conv", "MatMul_1", "Relu_12".
_OP_SEGMENT = re.compile(r"^[A-Z][A-Za-z0-9]*(_\d+)?$")
_INLINE_PREFIX = re.compile(r"^[^/]*__(?=/)")
_NAME_SCOPES = "pkg.torch.onnx.name_scopes"


def readable_name(node_name: str) -> str:
    """'/layer1/conv1/Conv' -> 'layer1.conv1'; 'Convolution28' -> 'Convolution28'."""
    path = _INLINE_PREFIX.sub("", node_name)
    if not path.startswith("/"):
        return node_name
    parts = [part for part in path.split("/") if part]
    if not parts:
        return node_name
    if len(parts) >= 2 and _OP_SEGMENT.match(parts[-1]):
        return ".".join(parts[:-1])
    return ".".join(parts)


def metadata_names(node: onnx.NodeProto) -> list[str]:
    """[module path, module path.op] from torch.onnx's dynamo metadata; [] without it."""
    for prop in node.metadata_props:
        if prop.key != _NAME_SCOPES:
            continue
        try:
            scopes = ast.literal_eval(prop.value)
        except (ValueError, SyntaxError):
            return []
        if not isinstance(scopes, list) or len(scopes) < 2 or not all(isinstance(s, str) for s in scopes):
            return []
        module, op = scopes[-2], scopes[-1]
        return [module, f"{module}.{op}"] if module else [op]
    return []


def fallback_name(node_name: str) -> str:
    """The longer form used when the short one is taken: 'attention.MatMul_1'."""
    path = _INLINE_PREFIX.sub("", node_name)
    if not path.startswith("/"):
        return node_name
    return ".".join(part for part in path.split("/") if part) or node_name


class NameAllocator:
    """Hands out unique names: the first free preference, else the last one numbered _N."""

    def __init__(self) -> None:
        self.taken: set[str] = set()

    def claim(self, *preferences: str) -> str:
        for name in preferences:
            if name and name not in self.taken:
                self.taken.add(name)
                return name
        base = next((p for p in reversed(preferences) if p), "layer")
        suffix = 1
        while f"{base}_{suffix}" in self.taken:
            suffix += 1
        name = f"{base}_{suffix}"
        self.taken.add(name)
        return name


def scope_name(node_names: list[str]) -> str | None:
    """The scope shared by all of a region's nodes ('.../LayerNorm' for a decomposed norm).

    keras2onnx names the ops of a decomposed LayerNorm '.../LayerNorm/moments/mean' and
    '.../LayerNorm/batchnorm/add': the common scope names the layer better than its first op.
    """
    paths = [_INLINE_PREFIX.sub("", name).split("/") for name in node_names if name]
    if len(paths) < 2:
        return None
    common: list[str] = []
    for parts in zip(*(path[:-1] for path in paths)):
        if len(set(parts)) != 1:
            break
        common.append(parts[0])
    if not any(common):
        return None
    if paths[0][0] == "":
        return ".".join(part for part in common if part)
    return "/".join(common)
