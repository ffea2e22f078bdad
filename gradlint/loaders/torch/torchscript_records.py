"""OpRecords from a TorchScript module's inlined forward graph.

The ops get the same module paths, call names (`path@N`) and call-site lines as torch.export
gives for the original module, so a TorchScript archive yields the LayerGraph its Python
model would. `prim::` plumbing (tuples, lists, `If` results) becomes transparent `alias`
records so data flow passes through it.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Iterator

import torch

from gradlint.loaders.torch.op_records import ModuleCall, NamedTensor, OpRecord, ProgramRecords
from gradlint.loaders.torch.source_location import source_range_location
from gradlint.loaders.torch.torchscript_scopes import ScopeResolver, call_sites

Value = torch._C.Value
Node = torch._C.Node


def records_from_script_module(module: torch.jit.ScriptModule) -> ProgramRecords:
    graph = module.forward.graph.copy()
    torch._C._jit_pass_inline(graph)
    builder = _Builder(module, next(iter(graph.inputs())).debugName())
    ops = tuple(builder.records(graph.nodes()))
    return ProgramRecords(
        inputs=tuple(value.debugName() for value in list(graph.inputs())[1:]),
        outputs=tuple(builder.expand(graph.return_node().inputs())),
        ops=_with_calls(ops, call_sites(module)),
        tensors=builder.tensors,
    )


class _Builder:
    def __init__(self, module: torch.jit.ScriptModule, self_value: str) -> None:
        self.self_value = self_value
        self.resolver = ScopeResolver(module)
        self.state = {
            **{name: (t, True) for name, t in module.named_parameters()},
            **{name: (t, False) for name, t in module.named_buffers()},
        }
        self.module_paths: dict[str, str] = {}
        self.containers: dict[str, list[str]] = {}  # list/tuple value -> its tensor elements
        self.tensors: dict[str, NamedTensor] = {}

    def records(self, nodes: Iterator[Node]) -> Iterator[OpRecord]:
        for node in nodes:
            kind = node.kind()
            if kind == "prim::GetAttr":
                self._attribute(node)
            elif kind in ("prim::ListConstruct", "prim::TupleConstruct"):
                self.containers[node.output().debugName()] = list(self.expand(node.inputs()))
            for block in node.blocks():
                yield from self.records(block.nodes())
            record = self._record(node)
            if record is not None:
                yield record

    def expand(self, values: Iterator[Value]) -> Iterator[str]:
        """Tensor value names, with lists and tuples built in the graph replaced by elements."""
        for value in values:
            name = value.debugName()
            if name in self.containers:
                yield from self.containers[name]
            elif _holds_tensors(value.type()):
                yield name

    def _attribute(self, node: Node) -> None:
        source = next(iter(node.inputs())).debugName()
        parent = "" if source == self.self_value else self.module_paths.get(source)
        if parent is None:
            return
        path = f"{parent}.{node.s('name')}" if parent else node.s("name")
        if isinstance(node.output().type(), torch._C.ClassType):
            self.module_paths[node.output().debugName()] = path
        elif path in self.state:
            tensor, is_parameter = self.state[path]
            self.tensors[node.output().debugName()] = NamedTensor(path, tensor, is_parameter)

    def _record(self, node: Node) -> OpRecord | None:
        outputs = [v for v in node.outputs() if _holds_tensors(v.type())]
        kind = node.kind()
        if not outputs or kind in ("prim::GetAttr", "prim::Constant"):
            return None
        is_aten = kind.startswith("aten::")
        args: list[str | None]
        if is_aten:
            args = [arg for value in node.inputs() for arg in self._args(value)]
        else:  # plumbing: If/Loop results, unpacking; the values pass through unchanged
            args = [*self.expand(node.inputs()), *self._block_results(node)]
        scope = self.resolver.resolve(node.getModuleHierarchy())
        return OpRecord(
            name=outputs[0].debugName(),
            op=kind.split("::", 1)[1] if is_aten else "alias",
            args=tuple(args),
            outputs=tuple(v.debugName() for v in outputs),
            scope=tuple(ModuleCall(path, type_name, path) for path, type_name in scope),
            location=source_range_location(node.sourceRange()),
            is_float=_is_float(outputs[0].type()),
        )

    def _args(self, value: Value) -> list[str | None]:
        """A tensor operand; a list built in the graph (torch.cat's) as its elements."""
        name = value.debugName()
        if name in self.containers:
            return list(self.containers[name])
        return [name if _holds_tensors(value.type()) else None]

    def _block_results(self, node: Node) -> Iterator[str]:
        for block in node.blocks():
            yield from self.expand(block.returnNode().inputs())


def _holds_tensors(value_type: torch._C.JitType) -> bool:
    if isinstance(value_type, torch._C.TensorType):
        return True
    if isinstance(value_type, (torch._C.ListType, torch._C.OptionalType)):
        return _holds_tensors(value_type.getElementType())
    if isinstance(value_type, torch._C.TupleType):
        return any(_holds_tensors(t) for t in value_type.elements())
    return False


def _is_float(value_type: torch._C.JitType) -> bool | None:
    dtype = value_type.dtype() if isinstance(value_type, torch._C.TensorType) else None
    return dtype.is_floating_point if dtype is not None else None


def _with_calls(
    ops: tuple[OpRecord, ...], sites: dict[str, list]
) -> tuple[OpRecord, ...]:
    """Name repeated calls of a leaf module `path@N`, as torch.export does, and add call sites.

    A leaf module's ops run contiguously, so its new call starts when its ops resume after
    other ops. Containers interleave with their children and keep their path as call name.
    """
    containers = _container_paths(ops)
    calls: dict[str, int] = {}
    previous: str | None = None
    named = []
    for op in ops:
        owner = op.owner
        if owner is None or owner.path in containers:
            named.append(op)
            previous = None
            continue
        if owner.path != previous:
            calls[owner.path] = calls.get(owner.path, -1) + 1
        previous = owner.path
        index = calls[owner.path]
        call = owner.path if index == 0 else f"{owner.path}@{index}"
        site_list = sites.get(owner.path, [])
        site = site_list[index] if index < len(site_list) else None
        scope = (*op.scope[:-1], replace(owner, call=call))
        named.append(replace(op, scope=scope, call_site=site))
    return tuple(named)


def _container_paths(ops: tuple[OpRecord, ...]) -> set[str]:
    owners = {op.owner.path for op in ops if op.owner is not None}
    return {".".join(p.split(".")[:i]) for p in owners for i in range(1, p.count(".") + 1)}
