"""Runs compiled ONNX nodes on torch tensors, scope by scope.

Values live in an environment mapping value names to tensors. A subgraph (If branch, Loop
body) runs in a `ChainMap` whose first map is its own scope and whose parents are the
enclosing scopes, so it sees outer values without copying them. `RunState.watched` names
values that a hook sees (and may replace) as soon as they are computed: the layer taps.
"""
from __future__ import annotations

from collections import ChainMap
from dataclasses import dataclass, field
from typing import Callable, MutableMapping, Sequence

import torch

from gradlint.errors import GradlintError, ModelLoadError
from gradlint.loaders.onnx.ops.registry import OpContext
from gradlint.loaders.onnx.program import CompiledNode, Program

Env = MutableMapping[str, torch.Tensor]
ValueHook = Callable[[str, torch.Tensor, Env], torch.Tensor]


class OnnxExecutionError(ModelLoadError):
    """An ONNX node failed while gradlint executed it (bad shapes, unsupported values)."""

    code = "execution"

    def __init__(self, message: str, node: str | None = None, op_type: str | None = None) -> None:
        super().__init__(message)
        self.node = node  # read by the pipeline to point the GL907 finding at the node
        self.op_type = op_type


@dataclass(frozen=True)
class RunState:
    norm_mode: str
    float_dtype: torch.dtype
    device: torch.device
    watched: frozenset[str] = frozenset()
    on_value: ValueHook | None = field(default=None, compare=False)


def run_nodes(nodes: Sequence[CompiledNode], env: Env, state: RunState) -> None:
    for node in nodes:
        run_node(node, env, state)


def run_node(node: CompiledNode, env: Env, state: RunState) -> None:
    args = [_read(env, name, node) if name else None for name in node.inputs]

    def run_subgraph(program: Program, inputs: Sequence[torch.Tensor | None]) -> list:
        return run_program(program, inputs, env, state)

    ctx = OpContext(
        opset=node.opset,
        node_name=node.name,
        norm_mode=state.norm_mode,
        num_outputs=len(node.outputs),
        run_subgraph=run_subgraph,
        float_dtype=state.float_dtype,
        device=state.device,
    )
    try:
        result = node.fn(ctx, args, node.attrs)  # type: ignore[misc]
    except GradlintError:
        raise
    except Exception as exc:  # any op failure becomes a one-line error naming the node
        message = " ".join(str(exc).split())[:300]
        raise OnnxExecutionError(
            f"ONNX node {node.name} ({node.op_type}) failed: {type(exc).__name__}: {message}",
            node=node.name,
            op_type=node.op_type,
        ) from exc
    values = [result] if isinstance(result, torch.Tensor) else list(result)
    for name, value in zip(node.outputs, values):
        if not name or value is None:
            continue
        if name in state.watched and state.on_value is not None:
            value = state.on_value(name, value, env)
        env[name] = value


def run_program(
    program: Program, inputs: Sequence[torch.Tensor | None], outer: Env, state: RunState
) -> list[torch.Tensor]:
    """Evaluate a subgraph with its formal inputs bound, seeing the enclosing scope."""
    local: dict[str, torch.Tensor] = dict(program.initializers)
    for name, value in zip(program.inputs, inputs):
        if name and value is not None:
            local[name] = value
    env = ChainMap(local, outer)
    run_nodes(program.nodes, env, state)
    return [_read(env, name, None) for name in program.outputs]


def _read(env: Env, name: str, node: CompiledNode | None) -> torch.Tensor:
    try:
        return env[name]
    except KeyError:
        where = f" (needed by node {node.name})" if node is not None else ""
        raise OnnxExecutionError(
            f"ONNX value {name} was not computed{where}", node=node.name if node is not None else None
        ) from None
