"""LoadedModels from each PyTorch form: graph, inputs and runnable put together.

| form        | graph from                     | runnable                         | probe batch |
|-------------|--------------------------------|----------------------------------|-------------|
| factory     | torch.export of the module     | hooks on the module's layers     | batch_size* |
| pickle      | torch.export of the module     | hooks on the module's layers     | as given    |
| .pt2        | the archive's program          | hooks on the unflattened modules | as exported |
| TorchScript | the scripted graph             | the whole module, no layer taps  | as given    |

*for a factory's example inputs that share a batch dim; shapes from --input-shape are used
as given, and an exported program only runs the shapes it was traced with.
"""
from __future__ import annotations

import inspect
from pathlib import Path
from typing import Any

import torch

from gradlint.analysis.probe_inputs import make_probe_inputs
from gradlint.errors import ModelLoadError
from gradlint.loaders.torch.archives import load_exported_program, load_torchscript
from gradlint.loaders.torch.example_inputs import (
    ExampleInputs,
    forward_parameters,
    normalize_example,
    requested_inputs,
)
from gradlint.loaders.torch.exported_module import unflattened_module
from gradlint.loaders.torch.exported_runnable import ExportedRunnable
from gradlint.loaders.torch.export_records import records_from_program
from gradlint.loaders.torch.input_specs import (
    embedding_ranges,
    smallest_embedding,
    specs_from_example,
    specs_from_request,
)
from gradlint.loaders.torch.layer_builder import build_layer_graph
from gradlint.loaders.torch.module_graph import module_graph, module_layer_paths
from gradlint.loaders.torch.pickle_guard import load_pickled_module
from gradlint.loaders.torch.torchscript_records import records_from_script_module
from gradlint.model import Diagnostic, InputSpec, LayerGraph, LoadedModel
from gradlint.options import AnalysisOptions

_TOKEN_DEFAULT_HIGH = 2  # token ids for a model without embeddings: 0 and 1


def from_eager_module(
    module: torch.nn.Module, example: Any, path: str, fmt: str, options: AnalysisOptions, origin: str
) -> LoadedModel:
    """A Python module, with the factory's example inputs or shapes from the options."""
    requested, default_high = None, smallest_embedding(module) or _TOKEN_DEFAULT_HIGH
    if example is not None:
        inputs = normalize_example(example, module, origin)
    else:
        requested = requested_inputs(forward_parameters(module), options.inputs)
        inputs = _synthetic(specs_from_request(requested, options.inputs, {}, default_high), options)
    found = module_graph(module, inputs)
    ranges = embedding_ranges(found.records, inputs.names) if found.records else {}
    if requested is None:
        specs = specs_from_example(inputs, options.inputs, ranges, options.batch_size)
    else:
        specs = specs_from_request(requested, options.inputs, ranges, default_high)
    specs = positional_order(module, specs)
    runnable = _module_runnable(module, specs, found.graph)
    return LoadedModel(path, fmt, runnable, specs, found.graph, found.diagnostics, source=module)


def from_pickle(path: Path, options: AnalysisOptions) -> LoadedModel:
    module = load_pickled_module(path, options.trust_pickle)
    return from_eager_module(module, None, str(path), "pickle", options, str(path))


def from_exported_archive(path: Path, options: AnalysisOptions) -> LoadedModel:
    program = load_exported_program(path)
    names = _program_input_names(program)
    records = records_from_program(program)
    graph = build_layer_graph(records, names)
    ranges = embedding_ranges(records, names)
    specs = _program_specs(program, names, options, ranges)
    module, switch = unflattened_module(program, _positional_names(program, names))
    runnable = ExportedRunnable(_module_runnable(module, specs, graph), switch)
    return LoadedModel(str(path), "pt2", runnable, specs, graph, source=program)


def from_torchscript_archive(path: Path, options: AnalysisOptions) -> LoadedModel:
    from gradlint.loaders.torch.module_runnable import ModuleRunnable

    module = load_torchscript(path)
    parameters = forward_parameters(module)
    requested = requested_inputs(parameters, options.inputs)
    records = records_from_script_module(module)
    names = [p.name for p in parameters]
    graph = build_layer_graph(records, names)
    ranges = embedding_ranges(records, names)
    default_high = smallest_embedding(module) or _TOKEN_DEFAULT_HIGH
    specs = specs_from_request(requested, options.inputs, ranges, default_high)
    runnable = ModuleRunnable(module, [spec.name for spec in specs], [])
    hookable = len(module_layer_paths(graph))
    note = Diagnostic(
        kind="probe-limited",
        message=(
            f"TorchScript modules cannot be hooked from Python: the probes measure the model's "
            f"inputs and outputs only, not its {hookable} layers (lint the Python model or a "
            f"torch.export .pt2 for per-layer probes)"
        ),
    )
    return LoadedModel(str(path), "torchscript", runnable, specs, graph, (note,), source=module)


def _module_runnable(module: torch.nn.Module, specs: tuple[InputSpec, ...], graph: LayerGraph) -> Any:
    from gradlint.loaders.torch.module_runnable import ModuleRunnable

    # A module called twice is hooked once: its hook fires for `path` and `path@1` alike.
    paths = dict.fromkeys(name.split("@", 1)[0] for name in module_layer_paths(graph))
    return ModuleRunnable(module, [spec.name for spec in specs], list(paths))


def positional_order(module: torch.nn.Module, specs: tuple[InputSpec, ...]) -> tuple[InputSpec, ...]:
    """The specs in forward's parameter order: ModuleRunnable passes inputs by position, so
    they must be forward's first parameters."""
    parameters = forward_parameters(module)
    if any(p.kind == inspect.Parameter.VAR_POSITIONAL for p in parameters):
        return specs
    positional = [p.name for p in parameters if p.kind in _POSITIONAL]
    index = {name: i for i, name in enumerate(positional)}
    ordered = tuple(sorted(specs, key=lambda spec: index.get(spec.name, len(positional))))
    names = [spec.name for spec in ordered]
    if names != positional[: len(names)]:
        expected = ", ".join(positional[: len(names)]) or "none"
        raise ModelLoadError(
            f"inputs are passed to forward by position, so they must be its first parameters "
            f"({expected}); got {', '.join(names)}"
        )
    return ordered


_POSITIONAL = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)


def _synthetic(specs: tuple[InputSpec, ...], options: AnalysisOptions) -> ExampleInputs:
    """Inputs drawn from the specs to trace a module that came without example inputs."""
    tensors = make_probe_inputs(specs, options.seed, "cpu")
    return ExampleInputs(kwargs=tensors, names=tuple(tensors))


def _program_input_names(program: torch.export.ExportedProgram) -> list[str]:
    signature = program.module_call_graph[0].signature
    names = list(signature.forward_arg_names or []) if signature is not None else []
    user_inputs = list(program.graph_signature.user_inputs)
    return names if len(names) == len(user_inputs) else user_inputs


def _positional_names(program: torch.export.ExportedProgram, names: list[str]) -> list[str]:
    """The inputs the program takes by position: those not exported as keyword arguments."""
    signature = program.module_call_graph[0].signature
    in_spec = signature.in_spec if signature is not None else None
    if in_spec is None or in_spec.num_children != 2:
        return names
    # (args, kwargs); `child` replaced `children_specs` in newer torch releases
    args_spec = in_spec.child(0) if hasattr(in_spec, "child") else in_spec.children_specs[0]
    return names[: args_spec.num_leaves]


def _program_specs(
    program: torch.export.ExportedProgram,
    names: list[str],
    options: AnalysisOptions,
    ranges: dict[str, int],
) -> tuple[InputSpec, ...]:
    """The archive's saved example inputs (shapes are fixed at export), else --input-shape."""
    example = program.example_inputs
    if example is not None:
        args, kwargs = example
        tensors = [*args, *kwargs.values()]
        if all(isinstance(t, torch.Tensor) for t in tensors) and len(tensors) == len(names):
            inputs = ExampleInputs(tuple(args), dict(kwargs), tuple(names))
            return specs_from_example(inputs, options.inputs, ranges, batch_size=None)
    parameters = [inspect.Parameter(n, inspect.Parameter.POSITIONAL_OR_KEYWORD) for n in names]
    requested = requested_inputs(parameters, options.inputs)
    return specs_from_request(requested, options.inputs, ranges, _TOKEN_DEFAULT_HIGH)
