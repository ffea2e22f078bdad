"""One ONNX node bound to its op function, and the values it reads (subgraphs included)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gradlint.loaders.onnx.ops.registry import OpFunction

if TYPE_CHECKING:
    from gradlint.loaders.onnx.program import Program


@dataclass
class CompiledNode:
    name: str
    op_type: str
    domain: str
    opset: int
    fn: OpFunction | None
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    attrs: dict[str, Any]
    subgraphs: tuple["Program", ...] = ()


def reads(node: CompiledNode) -> set[str]:
    """Every value `node` reads: its inputs and what its subgraphs take from outside."""
    names = {n for n in node.inputs if n}
    for sub in node.subgraphs:
        names |= sub.outer_refs
    return names
