"""Module paths and call sites in a TorchScript module, for its inlined graph's ops.

An inlined TorchScript node knows the chain of module instances it ran in
(`getModuleHierarchy()`: `encoder(Encoder).0(Layer).fc(Linear)`), but the chain skips
containers that are never called (ModuleList, ModuleDict) and names no call site. This module
resolves a chain to the real module path (`encoder.layers.0.fc`) and walks the un-inlined
method graphs to find the Python line of each submodule call.
"""
from __future__ import annotations

import re
from typing import Iterator

import torch

from gradlint.findings import Location
from gradlint.loaders.torch.source_location import source_range_location

_LEVEL = re.compile(r"([^().]+)\(([^()]*)\)")
_NOT_MODULES = ("SELF", "UNKNOWN_INSTANCE")
_UNCALLED_CONTAINERS = ("ModuleList", "ModuleDict", "ParameterList", "ParameterDict")


class ScopeResolver:
    """Turns hierarchy chains into module paths and qualified class names."""

    def __init__(self, module: torch.jit.ScriptModule) -> None:
        self.modules = dict(module.named_modules())
        self._cache: dict[str, tuple[tuple[str, str], ...]] = {}

    def resolve(self, hierarchy: str) -> tuple[tuple[str, str], ...]:
        """(path, qualified class) per module level of a chain, outermost first."""
        if hierarchy not in self._cache:
            self._cache[hierarchy] = tuple(self._levels(hierarchy))
        return self._cache[hierarchy]

    def _levels(self, hierarchy: str) -> Iterator[tuple[str, str]]:
        path = ""
        for name, type_name in _LEVEL.findall(hierarchy):
            if name in _NOT_MODULES:
                continue
            child = self._child(path, name, type_name)
            if child is None:
                return
            path = child
            yield path, qualified_type(self.modules[path])

    def _child(self, parent: str, name: str, type_name: str) -> str | None:
        direct = f"{parent}.{name}" if parent else name
        if direct in self.modules:
            return direct
        prefix = f"{parent}." if parent else ""
        for path, module in self.modules.items():
            if not (path.startswith(prefix) and path.endswith(f".{name}")):
                continue
            between = path[len(prefix): -len(name) - 1]
            if _only_containers(self.modules, prefix, between) and _original_name(module) == type_name:
                return path
        return None


def _only_containers(modules: dict[str, torch.nn.Module], prefix: str, between: str) -> bool:
    parts = between.split(".")
    paths = [prefix + ".".join(parts[: i + 1]) for i in range(len(parts))]
    return all(_original_name(modules.get(p)) in _UNCALLED_CONTAINERS for p in paths)


def _original_name(module: object) -> str:
    return str(getattr(module, "original_name", type(module).__name__))


def qualified_type(module: torch.nn.Module) -> str:
    """`__torch__.torch.nn.modules.linear.Linear` -> `torch.nn.modules.linear.Linear`."""
    try:
        name = module._c._type().qualified_name()  # type: ignore[union-attr]
    except AttributeError:
        return f"{type(module).__module__}.{type(module).__qualname__}"
    return name.removeprefix("__torch__.")


def call_sites(module: torch.jit.ScriptModule) -> dict[str, list[Location | None]]:
    """For each submodule path, the Python line of each of its calls, in execution order."""
    sites: dict[str, list[Location | None]] = {}
    _walk_method(module, "", "forward", sites, site=None, depth=0)
    return sites


def _walk_method(
    module: torch.jit.ScriptModule,
    path: str,
    method: str,
    sites: dict[str, list[Location | None]],
    site: Location | None,
    depth: int,
) -> None:
    """`site` is where this module was called: the line for calls made inside torch code
    (Sequential.forward calling its children), as torch.export reports them too."""
    if depth > 64:  # recursion guard for pathological graphs
        return
    try:
        graph = getattr(module, method).graph
    except (AttributeError, RuntimeError):
        return
    values: dict[str, tuple[torch.jit.ScriptModule, str]] = {
        next(iter(graph.inputs())).debugName(): (module, path)
    }
    for node in _all_nodes(graph.nodes()):
        if node.kind() == "prim::GetAttr":
            _follow_attribute(node, values)
        elif node.kind() == "prim::CallMethod":
            receiver = values.get(next(iter(node.inputs())).debugName())
            if receiver is not None:
                _follow_call(node, receiver, path, sites, site, depth)


def _follow_call(
    node: torch._C.Node,
    receiver: tuple[torch.jit.ScriptModule, str],
    path: str,
    sites: dict[str, list[Location | None]],
    site: Location | None,
    depth: int,
) -> None:
    """Record a submodule call's line, then walk the called method."""
    target, target_path = receiver
    if target_path != path:  # a call on a submodule, not on self
        site = source_range_location(node.sourceRange()) or site
        sites.setdefault(target_path, []).append(site)
    _walk_method(target, target_path, node.s("name"), sites, site, depth + 1)


def _follow_attribute(node: torch._C.Node, values: dict) -> None:
    owner = values.get(next(iter(node.inputs())).debugName())
    if owner is None:
        return
    module, path = owner
    name = node.s("name")
    child = getattr(module, name, None)
    if isinstance(child, torch.nn.Module):
        values[node.output().debugName()] = (child, f"{path}.{name}" if path else name)


def _all_nodes(nodes: Iterator[torch._C.Node]) -> Iterator[torch._C.Node]:
    for node in nodes:
        yield node
        for block in node.blocks():
            yield from _all_nodes(block.nodes())
