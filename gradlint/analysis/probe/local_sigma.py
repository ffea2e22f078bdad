"""sigma_max of each layer's local Jacobian d(output)/d(inputs) at the probe inputs.

Definition: the spectral norm of the Jacobian of the layer's whole-batch output with respect
to its whole-batch inputs (all distinct float inputs on the gradient path, jointly). For a
layer that treats samples independently this Jacobian is block diagonal, and its norm is the
largest per-sample sigma_max: each sample gets its own Krylov iteration, all in one batched
computation. `SigmaSettings.samples` restricts such layers to their first entries along the
leading axis (samples, or tokens where an exporter flattened batch and sequence): the cost of
a per-sample layer is proportional to the samples solved, and iid probe samples give per-sample
values within a few percent of each other. A layer that couples samples (batch-statistics
normalization) is always solved on the whole batch as one vector.

How (see `structure`; layers that compute the same function up to their weights share one
structure test, keyed by the runnable's optional `layer_signature`): elementwise layers are
read off one product; layers whose Jacobian is the same for every sample (and token) are
solved on one of them, or, where the layer will not run on one token, from their shared
block read off explicitly (`explicit_block`); an output regrouped from flattened input rows
is lined up with them first (`rows`); everything else runs the Lanczos-accelerated power
iteration of `lanczos`, one block per independent slice. Products
come from the layer re-run once on its recorded inputs (`GraphJacobian.of_function`: a graph
of that layer alone; products on the probe pass's whole graph would make autograd walk every
earlier layer on each call, quadratic in depth, and would keep that graph in memory). If
double backward fails on a layer, torch.func's forward mode takes over.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Hashable, Iterable, MutableMapping

import torch

from gradlint.analysis.probe.blocks import Blocks, random_vector
from gradlint.analysis.probe.capture import LayerRecord
from gradlint.analysis.probe.explicit_block import explicit_block_sigma
from gradlint.analysis.probe.jacobian import (
    FunctionJacobian,
    GraphJacobian,
    JacobianOperator,
    forward_jvp,
    gram,
    twice_differentiable,
)
from gradlint.analysis.probe.lanczos import top_singular_value
from gradlint.analysis.probe.layer_call import LayerCall
from gradlint.analysis.probe.rows import rows_aligned
from gradlint.analysis.probe.structure import Structure, detect_structure


@dataclass(frozen=True)
class SigmaSettings:
    tolerance: float
    max_iterations: int
    samples: int | None = None  # per-sample layers: solve the first `samples` only (None: all)
    batch: int | None = None  # the probe batch: rows per sample where axis 0 flattens it with tokens


@dataclass(frozen=True)
class SigmaResult:
    sigma_max: float
    iterations: int
    converged: bool
    method: str  # diagonal | constant | lanczos
    blocks: int


def layer_sigma(
    record: LayerRecord,
    function: Callable[..., torch.Tensor],
    settings: SigmaSettings,
    generator: torch.Generator,
    structures: MutableMapping[Hashable, Structure] | None = None,
    signature: Hashable | None = None,
) -> SigmaResult | None:
    """None when the layer has no float input on the gradient path (an embedding lookup).
    `structures`: tested structures by layer signature (`loaders/onnx/layer_signature.py`),
    shared by the layers of one run that compute the same function up to weights."""
    if not record.differentiable or not record.float_output:
        return None
    call, output = rows_aligned(LayerCall.of_record(function, record), record.output)
    if structures is not None and signature is not None and signature in structures:
        structure = structures[signature]
    else:
        structure = _structure(call, settings, generator)
        if structures is not None and signature is not None:
            structures[signature] = structure
    if structure.diagonal:
        return _diagonal(_first_samples(call, output, structure, settings) or call)
    if structure.constant_axes:
        constant = _constant(call, output, structure, settings, generator)
        if constant is not None:
            return constant
    subset = _first_samples(call, output, structure, settings)
    if subset is not None:
        return _solve(_function_operators(subset), structure.block_axes, "lanczos", settings, generator)
    return _solve(_function_operators(call), structure.block_axes, "lanczos", settings, generator)


def _constant(
    call: LayerCall, output: torch.Tensor, structure: Structure, settings: SigmaSettings,
    generator: torch.Generator,
) -> SigmaResult | None:
    """Solved on one block where the layer runs on one; else, where it runs on one sample's
    rows only, from the shared block read off explicitly (`explicit_block`)."""
    one = call.narrowed({axis: 1 for axis in structure.constant_axes})
    if one is None and 0 in structure.constant_axes:
        one = call.narrowed({0: 1})
    if one is not None:
        narrowed = [a for a, n in enumerate(one.output_shape) if n == 1 < call.output_shape[a]]
        axes = [a for a in structure.block_axes if a not in narrowed]
        return _solve(_function_operators(one), axes, "constant", settings, generator)
    if 0 not in structure.constant_axes:
        return None
    rows = _sample_rows(call, 1, settings, output) or call
    with twice_differentiable():
        estimate = explicit_block_sigma(rows, settings.tolerance, settings.max_iterations, generator)
    if estimate is None:
        return None
    return SigmaResult(estimate.sigma_max, estimate.iterations, estimate.converged, "constant", 1)


_TEST_LENGTH = 4  # entries kept along each non-sample axis for the structure tests


def _first_samples(
    call: LayerCall, output: torch.Tensor, structure: Structure, settings: SigmaSettings
) -> LayerCall | None:
    """The call on the first `settings.samples` samples, if the layer treats samples alike and
    independently. Axis 0 a block axis proves it; where axis 0 holds every sample's rows
    (tokens flattened with the batch, reshaped back inside the layer: GPT-2's MLP in a
    dynamic-batch ONNX export, 60% of its local sigma_max time when solved on all 128 rows),
    the first sample's rows are taken when they reproduce the layer's recorded first rows."""
    if not settings.samples:
        return None
    if 0 in structure.block_axes:
        # A slice of a static-batch export runs through batch-following reshapes
        # (loaders/onnx/batch_reshapes.py): used only where it computes the recorded rows.
        first = call.narrowed({0: settings.samples}, output)
        if first is not None:
            return first
    return _sample_rows(call, settings.samples, settings, output)


def _sample_rows(
    call: LayerCall, samples: int, settings: SigmaSettings, output: torch.Tensor | None = None
) -> LayerCall | None:
    """The rows of the first `samples` samples where axis 0 flattens the batch with tokens
    (with `output`, only if they reproduce its leading rows)."""
    leading = call.primals[0].shape[0] if call.primals and call.primals[0].dim() else 0
    if not settings.batch or leading % settings.batch or leading <= samples:
        return None
    return call.narrowed({0: samples * (leading // settings.batch)}, output)


def _structure(call: LayerCall, settings: SigmaSettings, generator: torch.Generator) -> Structure:
    test = (
        call.narrowed(_test_lengths(call)) or call.narrowed({0: 2})
        or _sample_rows(call, 2, settings) or call
    )
    with torch.no_grad():
        output = test(*test.primals)
    with twice_differentiable():
        return detect_structure(_jvp(test), test.primals, output, generator)


def _test_lengths(call: LayerCall) -> dict[int, int]:
    """Two samples and a few entries along every axis the inputs share with the output
    (pixels, tokens): the structure (which axes are blocks, which blocks are equal) is the
    same on a crop, and on ResNet-50 the tests at full spatial size cost a third of all
    local sigma_max time."""
    lengths = {0: 2}
    shape = call.output_shape
    for axis in range(1, len(shape)):
        if shape[axis] > _TEST_LENGTH and all(
            x.dim() == len(shape) and x.shape[axis] == shape[axis] for x in call.primals
        ):
            lengths[axis] = _TEST_LENGTH
    return lengths


def _jvp(call: LayerCall) -> Callable:
    """J v by double backward on one recording of the call, torch.func's forward mode where
    that fails. Double backward first: torch.func's first forward-mode product imports
    torch._dynamo (2.5 s, more than a ResNet-50 training step on 2 cores), which a run that
    never needs it should not pay."""
    recorded: list[GraphJacobian] = []

    def product(tangents):
        try:
            if not recorded:
                recorded.append(GraphJacobian.of_function(call, call.primals))
            return recorded[0].jvp(tangents)
        except Exception:  # no double backward for some op: forward mode instead
            return forward_jvp(call, call.primals, tangents)

    return product


def _diagonal(call: LayerCall) -> SigmaResult:
    """Called on the first samples, like any per-sample layer: on the whole batch, each of
    ResNet-50's first-stage residual Add+ReLU layers (6.4M entries) took 0.4-0.5 s, mostly
    page faults on product-sized temporaries."""
    squared = None
    jvp = _jvp(call)
    for index in range(len(call.primals)):
        tangents = tuple(
            torch.ones_like(x) if i == index else torch.zeros_like(x) for i, x in enumerate(call.primals)
        )
        diagonal = jvp(tangents)[0]
        squared = diagonal.square() if squared is None else squared + diagonal.square()
    sigma = float(squared.max().sqrt()) if squared.numel() else 0.0
    return SigmaResult(sigma, 1, True, "diagonal", squared.numel())


def _function_operators(call: LayerCall) -> tuple[Callable[[], JacobianOperator], ...]:
    return (
        lambda: GraphJacobian.of_function(call, call.primals),
        lambda: FunctionJacobian(call, call.primals),
    )


def _solve(
    operators: Iterable[Callable[[], JacobianOperator]],
    axes: Iterable[int],
    method: str,
    settings: SigmaSettings,
    generator: torch.Generator,
) -> SigmaResult:
    failure: Exception | None = None
    for index, make in enumerate(operators):
        try:
            # Later routes run with every kernel that allows double backward (cuDNN off).
            with twice_differentiable(strict=index > 0):
                return _lanczos(make(), tuple(axes), method, settings, generator)
        except Exception as error:  # try the next way of taking products
            failure = error
    raise RuntimeError(f"no Jacobian product worked: {failure}") from failure


def _lanczos(
    operator: JacobianOperator,
    axes: tuple[int, ...],
    method: str,
    settings: SigmaSettings,
    generator: torch.Generator,
) -> SigmaResult:
    inputs = operator.inputs
    blocks = Blocks.along(inputs, axes) if axes else Blocks.single(len(inputs))
    start = random_vector(inputs, generator)
    estimate = top_singular_value(
        gram(operator), start, blocks, settings.tolerance, settings.max_iterations
    )
    if isinstance(operator, GraphJacobian):
        operator.close()
    return SigmaResult(estimate.sigma_max, estimate.iterations, estimate.converged, method, blocks.count)
