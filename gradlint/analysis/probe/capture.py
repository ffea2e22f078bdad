"""The forward + backward probe pass: one forward with a tap on every layer, one backward.

The tap records, at each layer's first call, the tensors the layer read and its output,
statistics of that output (`forward_stats`), and a hook that takes the squared norm of the
gradient reaching the output. The backward pass (`gradients`) seeds the outputs with unit
cotangents and takes every parameter's gradient in the same pass. Then `detach_graph` lets the
autograd graph go (it holds every activation a weight gradient needs) while the values stay
for the Jacobian probes, which re-run what they need; `release_activations` drops those too.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

import torch

from gradlint.analysis.probe.forward_stats import ActivationInfo, output_stats
from gradlint.analysis.probe.jacobian import twice_differentiable
from gradlint.analysis.probe.reductions import sum_of_squares
from gradlint.model import Runnable


@dataclass
class LayerRecord:
    """One layer as the probe pass saw it."""

    name: str
    position: int
    inputs: tuple[torch.Tensor, ...]
    differentiable: tuple[int, ...]  # positions of float inputs on the gradient path
    output: torch.Tensor
    stats: dict[str, torch.Tensor] = field(default_factory=dict)
    grad_squared: torch.Tensor | None = None
    input_grad_squared: torch.Tensor | None = None
    on_gradient_path: bool = False  # the output required grad when it was recorded

    def take_grad(self, grad: torch.Tensor) -> None:
        self.grad_squared = _add(self.grad_squared, _squared_norm(grad))

    def take_input_grad(self, grad: torch.Tensor) -> None:
        self.input_grad_squared = _add(self.input_grad_squared, _squared_norm(grad))

    @property
    def float_output(self) -> bool:
        return self.output.is_floating_point()


@dataclass
class ProbePass:
    records: dict[str, LayerRecord]
    inputs: dict[str, torch.Tensor]
    outputs: dict[str, torch.Tensor]  # float outputs on the gradient path
    hooks: list[torch.utils.hooks.RemovableHandle] = field(default_factory=list)
    values: dict[str, torch.Tensor] = field(default_factory=dict)  # every tensor output

    def remove_hooks(self) -> None:
        """Later backward passes over the same graph (Jacobian probes) must not count."""
        for handle in self.hooks:
            handle.remove()
        self.hooks.clear()

    def detach_graph(self) -> None:
        """Keep every recorded value, drop every reference into the autograd graph."""
        self.remove_hooks()
        detached: dict[int, object] = {}  # one detached view per tensor: shared inputs stay shared
        for record in self.records.values():
            record.inputs = tuple(detached.setdefault(id(t), _detached(t)) for t in record.inputs)
            record.output = record.output.detach()
        self.inputs = {name: t.detach() for name, t in self.inputs.items()}
        self.outputs = {name: t.detach() for name, t in self.outputs.items()}
        self.values = {}

    def release_activations(self) -> None:
        for record in self.records.values():
            record.inputs = ()
            record.output = record.output.new_empty((0,))


def forward_pass(
    runnable: Runnable,
    inputs: Mapping[str, torch.Tensor],
    float_inputs: Sequence[str],
    activation_of: Callable[[str], ActivationInfo],
    watch_inputs_of: frozenset[str] = frozenset(),
) -> ProbePass:
    """Run the model once with the recording tap; float inputs become leaves with gradients."""
    leaves = {
        name: (t.detach().requires_grad_(True) if name in float_inputs else t)
        for name, t in inputs.items()
    }
    records: dict[str, LayerRecord] = {}
    hooks: list[torch.utils.hooks.RemovableHandle] = []

    def tap(name: str, tensors: Sequence[torch.Tensor], output: torch.Tensor) -> torch.Tensor:
        if name in records or not isinstance(output, torch.Tensor):
            return output
        record = _record(name, len(records), tensors, output, activation_of(name))
        records[name] = record
        if output.requires_grad and output.is_floating_point():
            hooks.append(output.register_hook(record.take_grad))
        if name in watch_inputs_of:
            for position in record.differentiable:
                hooks.append(tensors[position].register_hook(record.take_input_grad))
        return output

    with torch.enable_grad(), twice_differentiable():
        outputs = runnable.forward(leaves, tap)
    on_path = {
        name: value for name, value in outputs.items()
        if isinstance(value, torch.Tensor) and value.is_floating_point() and value.requires_grad
    }
    values = {name: value for name, value in outputs.items() if isinstance(value, torch.Tensor)}
    return ProbePass(records, leaves, on_path, hooks, values)


def _record(
    name: str, position: int, tensors: Sequence[torch.Tensor], output: torch.Tensor, info: ActivationInfo
) -> LayerRecord:
    differentiable = tuple(
        i for i, t in enumerate(tensors)
        if isinstance(t, torch.Tensor) and t.is_floating_point() and t.requires_grad
    )
    record = LayerRecord(name, position, tuple(tensors), differentiable, output)
    record.on_gradient_path = output.is_floating_point() and output.requires_grad
    if output.is_floating_point():
        record.stats = output_stats(output, info)
    return record


def _detached(value: object) -> object:
    return value.detach() if isinstance(value, torch.Tensor) else value


def _squared_norm(grad: torch.Tensor) -> torch.Tensor:
    return tensor_norm(grad).double() ** 2


def tensor_norm(value: torch.Tensor) -> torch.Tensor:
    """L2 norm (float64 0-d tensor) from squares summed in the tensor's own precision by
    chunks (`reductions`: a whole-tensor float32 norm read GPT-2's logits gradient 2% low),
    half types widened to float32. A norm that overflows although every entry is finite is
    taken again scaled by the largest entry: attention masks filled with float32's lowest
    value (GPT-2's ONNX export) have entries of -3.4e38 whose squares overflow, and an 'inf'
    norm there would read as a non-finite weight."""
    value = value.detach()
    if value.dtype not in (torch.float32, torch.float64):
        value = value.float()
    if value.numel() == 0:
        return torch.zeros((), dtype=torch.float64, device=value.device)
    norm = sum_of_squares(value).sqrt()
    if not bool(torch.isinf(norm)):
        return norm
    peak = value.abs().amax()
    if not bool(torch.isfinite(peak)):
        return norm
    return peak.double() * sum_of_squares(value / peak).sqrt()


def _add(total: torch.Tensor | None, value: torch.Tensor) -> torch.Tensor:
    return value if total is None else total + value
