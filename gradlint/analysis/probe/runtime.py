"""Where and how the probes run: device, batch size, seeding, gradient switches, memory.

Everything here restores what it changes: the global RNG (forked), deterministic-algorithm
flags, and every parameter's requires_grad flag.
"""
from __future__ import annotations

import contextlib
import dataclasses
import gc
from typing import Iterator, Sequence

import torch

from gradlint.errors import UsageError
from gradlint.model import Diagnostic, InputSpec


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
            spec = dataclasses.replace(spec, shape=spec.shape[:axis] + (new,) + spec.shape[axis + 1:])
        result.append(spec)
    return tuple(result)


def out_of_memory(error: Exception) -> bool:
    if isinstance(error, (torch.cuda.OutOfMemoryError, MemoryError)):
        return True
    text = str(error).lower()
    return isinstance(error, RuntimeError) and ("out of memory" in text or "can't allocate memory" in text)


def batch_reduced(old: int, new: int, device: torch.device) -> Diagnostic:
    return Diagnostic(
        kind="probe-batch-reduced",
        message=f"the probe at batch {old} did not fit in {device.type} memory; probed at batch {new}",
        details={"from": old, "to": new},
    )


def release_memory(device: torch.device) -> None:
    gc.collect()
    if device.type == "cuda":
        torch.cuda.empty_cache()


def generator(seed: int, stream: int) -> torch.Generator:
    """One CPU generator per purpose, so results do not depend on the order of the work."""
    return torch.Generator(device="cpu").manual_seed((seed * 1_000_003 + stream) % (2**63 - 1))


@contextlib.contextmanager
def seeded(device: torch.device, seed: int) -> Iterator[None]:
    """Model-internal randomness from `seed`; deterministic kernels on CUDA; all restored."""
    devices = [device.index or 0] if device.type == "cuda" else []
    deterministic = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    # Only on CUDA: the setter imports torch._inductor (2.5 s), and CPU kernels are deterministic.
    on_cuda = device.type == "cuda"
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        if on_cuda:
            torch.use_deterministic_algorithms(True, warn_only=True)
        try:
            yield
        finally:
            if on_cuda:
                torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)


@contextlib.contextmanager
def parameter_gradients(parameters: Sequence[tuple[str, torch.Tensor]], enabled: bool) -> Iterator[None]:
    """Every parameter's requires_grad set to `enabled` for the duration."""
    flags = [p.requires_grad for _, p in parameters]
    try:
        for _, p in parameters:
            p.requires_grad_(enabled)
        yield
    finally:
        for (_, p), flag in zip(parameters, flags):
            p.requires_grad_(flag)
