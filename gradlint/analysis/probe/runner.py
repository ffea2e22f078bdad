"""`run_probes`: every probe on one loaded model, on the chosen device, from the seed alone.

Order: one forward pass with a tap on every layer (output statistics), one backward pass with
unit cotangents (gradient norms at layers and parameters), then on the same autograd graph
the local Jacobian sigma_max of each layer and the end-to-end sigma_max. Semantics
(DESIGN.md): batch statistics in normalization (`--norm-stats`), dropout off, every random
draw from a CPU generator seeded by `--seed` (model-internal randomness from torch's global
generator, seeded the same way and restored afterwards), so two runs on one device agree
exactly and CPU and CUDA runs start from identical numbers.

The runnable is moved to the probe device and, when that is not the CPU, back afterwards.
"""
from __future__ import annotations

import dataclasses
import time
from typing import Callable, Hashable, Mapping, Sequence

import torch

from gradlint.analysis.facts import ParameterProbe, ProbeResult
from gradlint.analysis.probe.assemble import layer_probes
from gradlint.analysis.probe.capture import ProbePass, forward_pass
from gradlint.analysis.probe.end_to_end import (
    EndToEnd,
    EndToEndInputs,
    end_to_end_inputs,
    measure_end_to_end,
)
from gradlint.analysis.probe.forward_stats import ActivationInfo, activation_info
from gradlint.analysis.probe.gradients import BackwardResult, backward_pass
from gradlint.analysis.probe.local_sigma import SigmaResult, SigmaSettings, layer_sigma
from gradlint.analysis.probe.notes import no_backward, not_converged, partial
from gradlint.analysis.probe.runtime import (
    batch_reduced,
    generator,
    out_of_memory,
    parameter_gradients,
    probe_batch,
    probe_device,
    release_memory,
    seeded,
    with_batch,
)
from gradlint.analysis.probe.settings import ProbeSettings
from gradlint.analysis.probe.structure import Structure
from gradlint.analysis.probe_inputs import make_probe_inputs
from gradlint.errors import UsageError
from gradlint.model import Diagnostic, InputSpec, LayerKind, LoadedModel
from gradlint.options import AnalysisOptions

Progress = Callable[[str, int, int], None]
# Called once with the probe inputs and every output of the forward pass, detached.
ForwardSink = Callable[[Mapping[str, torch.Tensor], Mapping[str, torch.Tensor]], None]
__all__ = ["run_probes", "probe_device"]


def run_probes(
    model: LoadedModel,
    options: AnalysisOptions,
    progress: Progress | None = None,
    settings: ProbeSettings | None = None,
    on_forward: ForwardSink | None = None,
) -> ProbeResult:
    """All probes; the batch is halved (with a Diagnostic) while the model does not fit.
    `on_forward` sees the forward pass's inputs and outputs (parity reuses them)."""
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
                with seeded(device, options.seed):
                    result = _probe(model, specs, device, options, settings, progress, on_forward)
                break
            except Exception as error:
                batch = probe_batch(specs)
                if not out_of_memory(error) or batch <= 1:
                    raise
            # Outside the except clause, so the failed attempt's tensors are already freed.
            specs = with_batch(specs, batch, batch // 2)
            notes.append(batch_reduced(batch, batch // 2, device))
            release_memory(device)
    finally:
        getattr(progress, "finish", lambda: None)()
        if device.type != "cpu":
            model.runnable.to(torch.device("cpu"))
    return dataclasses.replace(result, diagnostics=tuple(notes) + result.diagnostics)


def _probe(
    model: LoadedModel,
    specs: tuple[InputSpec, ...],
    device: torch.device,
    options: AnalysisOptions,
    settings: ProbeSettings,
    progress: Progress | None,
    on_forward: ForwardSink | None = None,
) -> ProbeResult:
    report = progress or (lambda phase, done, total: None)
    batch, seed = probe_batch(specs), options.seed
    parameters = list(model.runnable.named_parameters())
    float_inputs = [s.name for s in specs if s.is_float]
    clock = [time.perf_counter()]
    with parameter_gradients(parameters, True):
        report("forward/backward", 0, 2)
        inputs = make_probe_inputs(specs, seed, device)
        probe = forward_pass(model.runnable, inputs, float_inputs, _activation_lookup(model), _pool_layers(model))
        if on_forward is not None:
            on_forward(inputs, {name: value.detach() for name, value in probe.values.items()})
        report("forward/backward", 1, 2)
        backward = backward_pass(probe, parameters, batch, generator(seed, 0))
    probe.detach_graph()
    seconds = {"forward_backward": _lap(clock)}
    with parameter_gradients(parameters, False), torch.no_grad():
        sigmas, failures = _layer_sigmas(model, probe, settings, seed, batch, report)
        seconds["layer_sigma"] = _lap(clock)
        wrt = end_to_end_inputs(model.graph, probe, float_inputs)
        probe.release_activations()
        end_to_end, e2e_failures = _end_to_end(model, probe, wrt, batch, settings, seed, report)
        seconds["end_to_end"] = _lap(clock)
    notes = failures + e2e_failures + _convergence(sigmas, end_to_end, settings)
    if not (backward.parameters or backward.input_grad_norms):
        notes.insert(0, no_backward())
    return _result(model, probe, backward, sigmas, end_to_end, device, options, settings, batch, seconds, notes)


def _result(
    model: LoadedModel, probe: ProbePass, backward: BackwardResult, sigmas: dict[str, SigmaResult],
    end_to_end: EndToEnd | None, device: torch.device, options: AnalysisOptions,
    settings: ProbeSettings, batch: int, seconds: dict[str, float], notes: Sequence[Diagnostic],
) -> ProbeResult:
    estimate = end_to_end.estimate if end_to_end else None
    return ProbeResult(
        device=str(device),
        seed=options.seed,
        batch_size=batch,
        layers=layer_probes(list(probe.records.values()), sigmas, model.graph, batch),
        end_to_end_sigma_max=estimate.sigma_max if estimate else None,
        seconds=sum(seconds.values()),
        extra={
            "seconds": seconds,
            "cotangent": "per-sample" if backward.per_sample else "whole-batch",
            "end_to_end_blocks": None if end_to_end is None else ("per-sample" if end_to_end.per_sample else "batch"),
            "end_to_end_samples": None if end_to_end is None else end_to_end.samples,
            "input_grad_norms": backward.input_grad_norms,
        },
        parameters=tuple(ParameterProbe(p.name, p.grad_norm, p.weight_norm) for p in backward.parameters),
        end_to_end_iterations=estimate.iterations if estimate else None,
        end_to_end_converged=estimate.converged if estimate else None,
        end_to_end_wrt=end_to_end.wrt if end_to_end else (),
        tolerance=settings.tolerance,
        diagnostics=tuple(notes),
    )


def _layer_sigmas(
    model: LoadedModel, probe: ProbePass, settings: ProbeSettings, seed: int, batch: int, report: Progress
) -> tuple[dict[str, SigmaResult], list[Diagnostic]]:
    sigmas: dict[str, SigmaResult] = {}
    failed: list[tuple[str, Exception]] = []
    if not settings.layer_sigma:
        return sigmas, []
    limits = SigmaSettings(
        settings.tolerance, settings.layer_max_iterations, settings.layer_samples, batch
    )
    records = [r for r in probe.records.values() if r.differentiable and r.float_output]
    signature_of = getattr(model.runnable, "layer_signature", lambda name: None)
    structures: dict[Hashable, Structure] = {}
    for index, record in enumerate(records):
        report("layer sigma_max", index, len(records))
        try:
            function = model.runnable.layer_function(record.name)
            result = layer_sigma(
                record, function, limits, generator(seed, record.position + 1),
                structures, signature_of(record.name),
            )
        except Exception as error:  # one layer's failure must not cost the others
            failed.append((record.name, error))
            continue
        if result is not None:
            sigmas[record.name] = result
    report("layer sigma_max", len(records), len(records))
    return sigmas, [partial("sigma_max", failed)] if failed else []


def _end_to_end(
    model: LoadedModel, probe: ProbePass, wrt: EndToEndInputs, batch: int, settings: ProbeSettings,
    seed: int, report: Progress,
) -> tuple[EndToEnd | None, list[Diagnostic]]:
    if not settings.end_to_end:
        return None, []
    report("end-to-end sigma_max", 0, 1)
    # Cutting samples slices axis 0; a model batched along another axis is solved whole.
    leading = all(spec.batch_axis in (0, None) for spec in model.inputs)
    samples = settings.end_to_end_samples if leading else None
    limits = SigmaSettings(settings.tolerance, settings.end_to_end_max_iterations, samples)
    try:
        result = measure_end_to_end(model.runnable, probe, wrt, batch, limits, generator(seed, -1))
    except Exception as error:  # reported, never raised: the other probes stand
        return None, [partial("end-to-end sigma_max", [("model", error)])]
    report("end-to-end sigma_max", 1, 1)
    return result, []


def _convergence(
    sigmas: dict[str, SigmaResult], end_to_end: EndToEnd | None, settings: ProbeSettings
) -> list[Diagnostic]:
    stuck = [name for name, s in sigmas.items() if not s.converged]
    if end_to_end is not None and not end_to_end.estimate.converged:
        stuck.append("end-to-end")
    return not_converged(stuck, settings.tolerance)


def _activation_lookup(model: LoadedModel) -> Callable[[str], ActivationInfo]:
    graph = model.graph
    return lambda name: activation_info(graph.layer(name) if name in graph else None)


def _pool_layers(model: LoadedModel) -> frozenset[str]:
    return frozenset(layer.name for layer in model.graph.layers() if layer.kind is LayerKind.POOL)


def _lap(clock: list[float]) -> float:
    now = time.perf_counter()
    elapsed, clock[0] = now - clock[0], now
    return elapsed
