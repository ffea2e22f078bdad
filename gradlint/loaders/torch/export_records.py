"""OpRecords from a torch.export ExportedProgram: aten nodes with `nn_module_stack` scopes."""
from __future__ import annotations

import re
from typing import Any, Iterator

import torch
import torch.fx
from torch.utils import _pytree as pytree

from gradlint.loaders.torch.op_records import ModuleCall, NamedTensor, OpRecord, ProgramRecords
from gradlint.loaders.torch.source_location import call_site, frames_of, op_location

_CALL_INDEX = re.compile(r"@(\d+)$")


def records_from_program(program: torch.export.ExportedProgram) -> ProgramRecords:
    signature = program.graph_signature
    ops = tuple(
        _record(node) for node in program.graph.nodes if node.op == "call_function"
    )
    outputs = tuple(str(name) for name in signature.user_outputs)
    return ProgramRecords(
        inputs=tuple(signature.user_inputs),
        outputs=outputs,
        ops=ops,
        tensors=_named_tensors(program),
        output_names=output_names(program, len(outputs)),
    )


def output_names(program: torch.export.ExportedProgram, count: int) -> tuple[str, ...]:
    """"output" for one tensor, the keys of a dict or ModelOutput, else leaf indices: the
    names `ModuleRunnable` gives the outputs."""
    signature = program.module_call_graph[0].signature
    spec = signature.out_spec if signature is not None else None
    if spec is None or spec.num_leaves != count:
        return ()
    paths = [path for path, _ in pytree.tree_flatten_with_path(pytree.tree_unflatten(list(range(count)), spec))[0]]
    if paths == [()]:
        return ("output",)
    keys = [path[0].key for path in paths if len(path) == 1 and isinstance(path[0], pytree.MappingKey)]
    return tuple(str(k) for k in keys) if len(keys) == count else tuple(str(i) for i in range(count))


def _named_tensors(program: torch.export.ExportedProgram) -> dict[str, NamedTensor]:
    signature = program.graph_signature
    state = {**program.state_dict, **program.constants}
    named: dict[str, NamedTensor] = {}
    for value, fqn in signature.inputs_to_parameters.items():
        named[value] = NamedTensor(fqn, state[fqn], is_parameter=True)
    lookups = (signature.inputs_to_buffers, signature.inputs_to_lifted_tensor_constants)
    for mapping in lookups:
        for value, fqn in mapping.items():
            tensor = state.get(fqn)
            if isinstance(tensor, torch.Tensor):
                named[value] = NamedTensor(fqn, tensor, is_parameter=False)
    return named


def _record(node: torch.fx.Node) -> OpRecord:
    frames = frames_of(node.meta.get("stack_trace"))
    return OpRecord(
        name=node.name,
        op=op_name(node.target),
        args=tuple(_tensor_args(node)),
        outputs=(node.name,),
        scope=tuple(_scope(node.meta.get("nn_module_stack") or {})),
        location=op_location(frames),
        call_site=call_site(frames),
        is_float=_is_float(node.meta.get("val")),
        scalars=tuple(None if _has_node(arg) else arg for arg in node.args),
    )


def _has_node(arg: Any) -> bool:
    if isinstance(arg, (list, tuple)):
        return any(_has_node(a) for a in arg)
    return isinstance(arg, torch.fx.Node)


def op_name(target: Any) -> str:
    """`aten.conv2d.default` -> `conv2d`; `operator.getitem` -> `getitem`."""
    packet = getattr(target, "overloadpacket", None)
    if packet is not None:
        return packet.__name__
    return getattr(target, "__name__", str(target))


def _tensor_args(node: torch.fx.Node) -> Iterator[str | None]:
    for arg in (*node.args, *node.kwargs.values()):
        if isinstance(arg, torch.fx.Node):
            yield arg.name
        elif isinstance(arg, (list, tuple)) and any(isinstance(a, torch.fx.Node) for a in arg):
            yield from (a.name if isinstance(a, torch.fx.Node) else None for a in arg)
        else:
            yield None


def _scope(stack: dict[str, tuple[str, Any]]) -> Iterator[ModuleCall]:
    for key, (path, module_type) in stack.items():
        if not path:
            continue  # the root module: its ops are the model's own forward
        match = _CALL_INDEX.search(key)
        call = f"{path}@{match.group(1)}" if match else path
        yield ModuleCall(path=path, type_name=_type_name(module_type), call=call)


def _type_name(module_type: Any) -> str:
    if isinstance(module_type, type):
        return f"{module_type.__module__}.{module_type.__qualname__}"
    return str(module_type)


def _is_float(value: Any) -> bool | None:
    if isinstance(value, (list, tuple)):
        value = value[0] if value else None
    if isinstance(value, torch.Tensor):
        return value.dtype.is_floating_point
    return None
