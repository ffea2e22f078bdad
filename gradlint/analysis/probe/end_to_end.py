"""sigma_max of the Jacobian of the whole batch's outputs w.r.t. the whole batch's inputs.

"Inputs" are the model's float inputs, or for token-id models the output of the first
embedding layer (ids have no derivative; the embedding output is where a gradient signal
starts). The model is re-run as a function of those inputs (`model_function`); products come
by double backward on that one recording, or from torch.func (forward-mode J v, one recorded
vjp for Jᵀu) where an op has no double backward.
When the model treats samples independently, the Jacobian is block diagonal over samples and
its norm is the largest per-sample norm. `SigmaSettings.samples` (default 1 from
`ProbeSettings.end_to_end_samples`) then solves only the first samples: the model is re-run on
them alone, and that path is taken only when their outputs equal the batch's first rows
(relative 1e-4, the parity tolerance), which a model whose samples interact (batch-statistics
normalization) or that cannot run on fewer samples (shapes frozen at the probe batch) fails.
On ResNet-50 and GPT-2 a full-batch solve cost 10 to 20 training steps; iid probe samples give
per-sample norms within a few percent of each other. Otherwise the whole batch is solved: with
one Krylov iteration per sample, batched, when a vector-Jacobian product seeded on sample 0
alone reaches no other sample, else the batch as one vector.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping, Sequence

import torch

from gradlint.analysis.probe.blocks import Blocks, random_vector
from gradlint.analysis.probe.capture import ProbePass
from gradlint.analysis.probe.jacobian import (
    FunctionJacobian,
    GraphJacobian,
    JacobianOperator,
    gram,
    twice_differentiable,
)
from gradlint.analysis.probe.lanczos import SpectralEstimate, top_singular_value
from gradlint.analysis.probe.layer_call import same_values
from gradlint.analysis.probe.local_sigma import SigmaSettings
from gradlint.model import LayerGraph, LayerKind, Runnable


@dataclass(frozen=True)
class EndToEnd:
    estimate: SpectralEstimate
    per_sample: bool
    wrt: tuple[str, ...]
    samples: int  # samples solved: the first `samples` of the batch


def measure_end_to_end(
    runnable: Runnable,
    probe: ProbePass,
    wrt: "EndToEndInputs",
    batch: int,
    settings: SigmaSettings,
    generator: torch.Generator,
) -> EndToEnd | None:
    """None when nothing differentiable feeds the outputs. The model is re-run once, with its
    parameters frozen, so the graph kept for the products holds only what input gradients need."""
    if not wrt.values or not probe.outputs:
        return None
    subset = _first_samples(runnable, probe, wrt, batch, settings.samples) if settings.samples else None
    inputs, values, solved = subset or (probe.inputs, wrt.values, batch)
    rerun = model_function(
        runnable, inputs, list(probe.outputs),
        wrt_inputs=() if wrt.is_layer else wrt.names, wrt_layer=wrt.names[0] if wrt.is_layer else None,
    )
    forward_mode = lambda: FunctionJacobian(rerun, values)
    double_backward = lambda: GraphJacobian.of_function(rerun, values)
    # Double backward first, forward mode where an op has no double backward, last double
    # backward with every kernel that supports it (cuDNN off). Measured on ResNet-50's static
    # export (8 samples, 5 products): 12.4 s against forward mode's 16.6 s, of which 2.5 s is
    # the torch._dynamo import of torch.func's first forward-mode product; GPT-2 on one sample
    # 3.2 s against 9.0 s. Peak memory of the ResNet-50 module probe: 1.92x a training step.
    routes = (double_backward, forward_mode, double_backward)
    estimate, per_sample = end_to_end_sigma(routes, solved, settings, generator)
    return EndToEnd(estimate, per_sample or subset is not None, tuple(wrt.names), solved)


def _first_samples(
    runnable: Runnable, probe: ProbePass, wrt: "EndToEndInputs", batch: int, count: int
) -> tuple[dict[str, torch.Tensor], tuple[torch.Tensor, ...], int] | None:
    """The probe inputs and the wrt values cut to the first `count` samples, when the model
    gives those samples the outputs it gave them inside the batch; else None."""
    if count >= batch or any(t.dim() == 0 or t.shape[0] != batch for t in (*wrt.values, *probe.outputs.values())):
        return None
    inputs = {name: _head(t, batch, count) for name, t in probe.inputs.items()}
    values = tuple(t[:count] for t in wrt.values)
    run = model_function(
        runnable, inputs, list(probe.outputs),
        wrt_inputs=() if wrt.is_layer else wrt.names, wrt_layer=wrt.names[0] if wrt.is_layer else None,
    )
    try:
        with torch.no_grad():
            outputs = run(*values)
    except Exception:  # shapes frozen at the probe batch: the whole batch is solved
        return None
    if all(same_values(out, full[:count]) for out, full in zip(outputs, probe.outputs.values())):
        return inputs, values, count
    return None


def _head(tensor: torch.Tensor, batch: int, count: int) -> torch.Tensor:
    return tensor[:count] if tensor.dim() > 0 and tensor.shape[0] == batch else tensor


@dataclass(frozen=True)
class EndToEndInputs:
    names: tuple[str, ...]
    values: tuple[torch.Tensor, ...]
    is_layer: bool


def end_to_end_inputs(graph: LayerGraph, probe: ProbePass, float_inputs: Sequence[str]) -> EndToEndInputs:
    """The float inputs; for token-id models the output of the first embedding layer."""
    floats = [name for name in float_inputs if name in probe.inputs]
    if floats:
        return EndToEndInputs(tuple(floats), tuple(probe.inputs[n].detach() for n in floats), False)
    candidates = [r for r in probe.records.values() if r.on_gradient_path]
    embeddings = [r for r in candidates if r.name in graph and graph.layer(r.name).kind is LayerKind.EMBEDDING]
    chosen = (embeddings or candidates)[:1]
    return EndToEndInputs(tuple(r.name for r in chosen), tuple(r.output.detach() for r in chosen), True)


def end_to_end_sigma(
    operators: Sequence[Callable[[], JacobianOperator]],
    batch: int,
    settings: SigmaSettings,
    generator: torch.Generator,
) -> tuple[SpectralEstimate, bool]:
    """(estimate, per_sample) by the first operator route that works (later ones re-run the model)."""
    failure: Exception | None = None
    for index, make in enumerate(operators):
        try:
            with twice_differentiable(strict=index == len(operators) - 1 and index > 0):
                operator = make()
                try:
                    return _solve(operator, batch, settings, generator)
                finally:
                    getattr(operator, "close", lambda: None)()
        except Exception as error:
            failure = error
    raise RuntimeError(f"no Jacobian product worked: {failure}") from failure


def model_function(
    runnable: Runnable,
    inputs: Mapping[str, torch.Tensor],
    outputs: Sequence[str],
    wrt_inputs: Sequence[str] = (),
    wrt_layer: str | None = None,
) -> Callable[..., tuple[torch.Tensor, ...]]:
    """The model's float outputs as a function of some inputs, or of one layer's output."""
    fixed = {name: t.detach() for name, t in inputs.items()}

    def run(*values: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if wrt_layer is not None:
            tap = lambda name, args, output: values[0] if name == wrt_layer else output
            result = runnable.forward(fixed, tap)
        else:
            result = runnable.forward({**fixed, **dict(zip(wrt_inputs, values))})
        return tuple(result[name] for name in outputs)

    return run


def _solve(
    operator: JacobianOperator, batch: int, settings: SigmaSettings, generator: torch.Generator
) -> tuple[SpectralEstimate, bool]:
    per_sample = _samples_independent(operator, batch, generator)
    blocks = Blocks.along(operator.inputs, [0]) if per_sample else Blocks.single(len(operator.inputs))
    start = random_vector(operator.inputs, generator)
    estimate = top_singular_value(gram(operator), start, blocks, settings.tolerance, settings.max_iterations)
    return estimate, per_sample


def _samples_independent(operator: JacobianOperator, batch: int, generator: torch.Generator) -> bool:
    tensors = (*operator.inputs, *operator.outputs)
    if batch < 2 or any(t.dim() == 0 or t.shape[0] != batch for t in tensors):
        return False
    seeds = []
    for output in operator.outputs:
        draw = torch.zeros(output.shape, dtype=torch.float64)
        draw[0] = torch.randn(output.shape[1:], generator=generator, dtype=torch.float64)
        seeds.append(draw.to(output.device, output.dtype))
    grads = operator.vjp(tuple(seeds))
    return all(not bool(((g[1:] != 0) | torch.isnan(g[1:])).any()) for g in grads)
