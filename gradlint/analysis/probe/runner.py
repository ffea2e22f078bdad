"""`run_probes`: every probe on one loaded model, on the chosen device, from the seed alone.

Order: one forward pass with a tap on every layer (output statistics), one backward pass with
unit cotangents (gradient norms at layers and parameters), then on the same autograd graph
the local Jacobian sigma_max of each layer and the end-to-end sigma_max. Semantics
(DESIGN.md): batch statistics in normalization (`--norm-stats`), dropout off, every random
draw from a CPU generator seeded by `--seed` (model-internal randomness from torch's global
generator, seeded the same way and restored afterwards), so two runs on one device agree
exactly and CPU and CUDA runs start from identical numbers.
"""
from __future__ import annotations

import contextlib
import dataclasses
import gc
import time
from typing import Callable, Iterator, Sequence

import torch

from gradlint.analysis.facts import ParameterProbe, ProbeResult
from gradlint.analysis.probe.assemble import layer_probes
from gradlint.analysis.probe.capture import ProbePass, forward_pass
from gradlint.analysis.probe.end_to_end import end_to_end_sigma
from gradlint.analysis.probe.forward_stats import ActivationInfo, activation_info
from gradlint.analysis.probe.gradients import backward_pass
from gradlint.analysis.probe.local_sigma import SigmaResult, SigmaSettings, layer_sigma
from gradlint.analysis.probe.settings import ProbeSettings
from gradlint.analysis.probe_inputs import make_probe_inputs
from gradlint.errors import UsageError
from gradlint.model import Diagnostic, InputSpec, LayerKind, LoadedModel
from gradlint.options import AnalysisOptions

Progress = Callable[[str, int, int], None]


def run_probes(
    model: LoadedModel,
    options: AnalysisOptions,
    progress: Progress | None = None,
    settings: ProbeSettings | None = None,
) -> ProbeResult:
    if model.runnable is None:
        raise UsageError("the model cannot be run, so it cannot be probed")
    device = probe_device(options.device)
    settings = settings or ProbeSettings()
    specs, notes = tuple(model.inputs), []
    model.runnable.to(device)
    model.runnable.set_norm_mode(options.norm_stats)
    try:
        while True:
            try:
                with _seeded(device, options.seed):
                    result = _probe(model, specs, device, options, settings, progress)
                break
            except Exception as error:
                batch = probe_batch(specs)
                if not _out_of_memory(error) or batch <= 1:
                    raise
            # Outside the except clause, so the failed attempt's tensors are already freed.
            specs = with_batch(specs, batch, batch // 2)
            notes.append(_reduced(batch, batch // 2, device))
            _release(device)
    finally:
        if device.type != "cpu":
            model.runnable.to(torch.device("cpu"))
    return dataclasses.replace(result, diagnostics=tuple(notes) + result.diagnostics)


def probe_device(choice: str) -> torch.device:
    """--device: auto (CUDA when torch sees one), cpu, cuda[:N]."""
    if choice == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(choice)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda: torch sees no CUDA device (use --device cpu or auto)")
    return device


def probe_batch(specs: Sequence[InputSpec]) -> int:
    for spec in specs:
        if spec.batch_axis is not None and len(spec.shape) > spec.batch_axis:
            return spec.shape[spec.batch_axis]
    return 1


def with_batch(specs: Sequence[InputSpec], old: int, new: int) -> tuple[InputSpec, ...]:
    """The specs with their batch axis at `new` where it was `old` (fixed batches stay)."""
    result = []
    for spec in specs:
        axis = spec.batch_axis
        if axis is not None and len(spec.shape) > axis and spec.shape[axis] == old:
            shape = spec.shape[:axis] + (new,) + spec.shape[axis + 1:]
            spec = dataclasses.replace(spec, shape=shape)
        result.append(spec)
    return tuple(result)


def _probe(
    model: LoadedModel,
    specs: tuple[InputSpec, ...],
    device: torch.device,
    options: AnalysisOptions,
    settings: ProbeSettings,
    progress: Progress | None,
) -> ProbeResult:
    report = progress or (lambda phase, done, total: None)
    batch = probe_batch(specs)
    runnable, graph = model.runnable, model.graph
    clock = [time.perf_counter()]
    parameters = list(runnable.named_parameters())
    with _gradients_for(parameters):
        report("forward/backward", 0, 2)
        probe = forward_pass(
            runnable,
            make_probe_inputs(specs, options.seed, device),
            [s.name for s in specs if s.is_float],
            _activation_lookup(model),
            frozenset(l.name for l in graph.layers() if l.kind is LayerKind.POOL),
        )
        report("forward/backward", 1, 2)
        backward = backward_pass(probe, parameters, batch, _generator(options.seed, 0))
        notes = [] if backward.parameters or backward.input_grad_norms else [_no_backward()]
    seconds = {"forward_backward": _lap(clock)}
    with _no_parameter_gradients(parameters), torch.no_grad():
        sigmas, failures = _layer_sigmas(model, probe, settings, options.seed, report)
        seconds["layer_sigma"] = _lap(clock)
        end_to_end, wrt, e2e_notes = _end_to_end(model, probe, batch, settings, options.seed, report)
        seconds["end_to_end"] = _lap(clock)
    notes += failures + e2e_notes + _convergence_notes(sigmas, end_to_end, settings)
    return ProbeResult(
        device=str(device),
        seed=options.seed,
        batch_size=batch,
        layers=layer_probes(list(probe.records.values()), sigmas, graph, batch),
        end_to_end_sigma_max=end_to_end.estimate.sigma_max if end_to_end else None,
        seconds=sum(seconds.values()),
        extra={
            "seconds": seconds,
            "cotangent": "per-sample" if backward.per_sample else "whole-batch",
            "end_to_end_blocks": None if end_to_end is None else ("per-sample" if end_to_end.per_sample else "batch"),
            "input_grad_norms": backward.input_grad_norms,
        },
        parameters=tuple(ParameterProbe(p.name, p.grad_norm, p.weight_norm) for p in backward.parameters),
        end_to_end_iterations=end_to_end.estimate.iterations if end_to_end else None,
        end_to_end_converged=end_to_end.estimate.converged if end_to_end else None,
        end_to_end_wrt=wrt,
        tolerance=settings.tolerance,
        diagnostics=tuple(notes),
    )


def _layer_sigmas(
    model: LoadedModel, probe: ProbePass, settings: ProbeSettings, seed: int, report: Progress
) -> tuple[dict[str, SigmaResult], list[Diagnostic]]:
    sigmas: dict[str, SigmaResult] = {}
    failed: list[tuple[str, Exception]] = []
    if not settings.layer_sigma:
        return sigmas, []
    limits = SigmaSettings(settings.tolerance, settings.layer_max_iterations)
    records = [r for r in probe.records.values() if r.differentiable and r.float_output]
    for index, record in enumerate(records):
        report("layer sigma_max", index, len(records))
        try:
            function = model.runnable.layer_function(record.name)
            result = layer_sigma(record, function, limits, _generator(seed, record.position + 1))
        except Exception as error:  # one layer's failure must not cost the others
            failed.append((record.name, error))
            continue
        if result is not None:
            sigmas[record.name] = result
    report("layer sigma_max", len(records), len(records))
    return sigmas, [_partial("sigma_max", failed)] if failed else []


def _end_to_end(model: LoadedModel, probe: ProbePass, batch: int, settings: ProbeSettings, seed: int, report: Progress):
    if not settings.end_to_end or not probe.outputs:
        return None, (), []
    names, wrt = _end_to_end_inputs(model, probe)
    if not wrt:
        return None, (), []
    report("end-to-end sigma_max", 0, 1)
    limits = SigmaSettings(settings.tolerance, settings.end_to_end_max_iterations)
    try:
        result = end_to_end_sigma(tuple(probe.outputs.values()), wrt, batch, limits, _generator(seed, -1))
    except Exception as error:
        return None, tuple(names), [_partial("end-to-end sigma_max", [("model", error)])]
    report("end-to-end sigma_max", 1, 1)
    return result, tuple(names), []


def _end_to_end_inputs(model: LoadedModel, probe: ProbePass) -> tuple[list[str], list[torch.Tensor]]:
    """The float inputs; for token-id models the output of the first embedding layer."""
    floats = [(name, t) for name, t in probe.inputs.items() if t.requires_grad]
    if floats:
        return [n for n, _ in floats], [t for _, t in floats]
    graph = model.graph
    candidates = [r for r in probe.records.values() if r.float_output and r.output.requires_grad]
    embeddings = [r for r in candidates if r.name in graph and graph.layer(r.name).kind is LayerKind.EMBEDDING]
    chosen = (embeddings or candidates)[:1]
    return [r.name for r in chosen], [r.output for r in chosen]


def _activation_lookup(model: LoadedModel) -> Callable[[str], ActivationInfo]:
    graph = model.graph
    return lambda name: activation_info(graph.layer(name) if name in graph else None)


def _convergence_notes(sigmas: dict[str, SigmaResult], end_to_end, settings: ProbeSettings) -> list[Diagnostic]:
    stuck = [name for name, s in sigmas.items() if not s.converged]
    if end_to_end is not None and not end_to_end.estimate.converged:
        stuck.append("end-to-end")
    if not stuck:
        return []
    return [Diagnostic(
        kind="probe-not-converged",
        message=(
            f"sigma_max did not settle to a relative change of {settings.tolerance:g} within the "
            f"iteration cap at {len(stuck)} place(s), first {stuck[0]}: those values are lower bounds"
        ),
        node=None if stuck[0] == "end-to-end" else stuck[0],
        details={"nodes": stuck},
    )]


def _partial(what: str, failed: list[tuple[str, Exception]]) -> Diagnostic:
    node, error = failed[0]
    cause = " ".join(str(error).split())[:300] or type(error).__name__
    return Diagnostic(
        kind="probe-partial",
        message=f"{what} could not be measured at {len(failed)} place(s); first {node}: {type(error).__name__}: {cause}",
        node=node,
        details={"nodes": [n for n, _ in failed]},
    )


def _no_backward() -> Diagnostic:
    return Diagnostic(
        kind="probe-partial",
        message="no float output depends on a parameter or float input: no gradient was measured",
    )


def _reduced(old: int, new: int, device: torch.device) -> Diagnostic:
    return Diagnostic(
        kind="probe-batch-reduced",
        message=f"the probe at batch {old} did not fit in {device.type} memory; probed at batch {new}",
        details={"from": old, "to": new},
    )


def _generator(seed: int, stream: int) -> torch.Generator:
    """One CPU generator per purpose, so results do not depend on the order of the work."""
    return torch.Generator(device="cpu").manual_seed((seed * 1_000_003 + stream) % (2**63 - 1))


def _lap(clock: list[float]) -> float:
    now = time.perf_counter()
    elapsed, clock[0] = now - clock[0], now
    return elapsed


def _out_of_memory(error: Exception) -> bool:
    if isinstance(error, (torch.cuda.OutOfMemoryError, MemoryError)):
        return True
    text = str(error).lower()
    return isinstance(error, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text)


def _release(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


@contextlib.contextmanager
def _gradients_for(parameters: Sequence[tuple[str, torch.Tensor]]) -> Iterator[None]:
    flags = [p.requires_grad for _, p in parameters]
    try:
        for _, p in parameters:
            p.requires_grad_(True)
        yield
    finally:
        for (_, p), flag in zip(parameters, flags):
            p.requires_grad_(flag)


@contextlib.contextmanager
def _no_parameter_gradients(parameters: Sequence[tuple[str, torch.Tensor]]) -> Iterator[None]:
    flags = [p.requires_grad for _, p in parameters]
    try:
        for _, p in parameters:
            p.requires_grad_(False)
        yield
    finally:
        for (_, p), flag in zip(parameters, flags):
            p.requires_grad_(flag)


@contextlib.contextmanager
def _seeded(device: torch.device, seed: int) -> Iterator[None]:
    devices = [device.index or 0] if device.type == "cuda" else []
    deterministic = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        if device.type == "cuda":
            torch.use_deterministic_algorithms(True, warn_only=True)
        try:
            yield
        finally:
            torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)
