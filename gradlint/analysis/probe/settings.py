"""Knobs of the probes, with the defaults the CLI uses.

The probe batch size is `AnalysisOptions.batch_size` (DEFAULT_BATCH_SIZE = 8): enough samples
that per-sample maxima and batch statistics mean something, small enough that a probe costs
about as much as one training step. A model whose declared batch is fixed (1) keeps it. An
ONNX model whose estimated probe memory is over the limit gets a smaller batch before anything
runs (loaders/onnx/input_memory.py); when the model does not fit in device memory at run time
the batch is halved until it does (down to 1). Either way a 'probe-batch-reduced' Diagnostic
says so.
"""
from __future__ import annotations

from dataclasses import dataclass

from gradlint.analysis.probe.lanczos import DEFAULT_TOLERANCE


@dataclass(frozen=True)
class ProbeSettings:
    """`layer_samples`: per-layer sigma_max of layers that treat samples independently is
    solved on that many samples (None: all, the max over the batch). The default, 1, is the
    Jacobian at the first probe sample: a per-sample layer costs the solved samples times its
    per-sample cost, and at batch 8 solving all of them made ResNet-50 (ONNX, CPU) take over
    50 training steps, past the analysis timeout. Coupled layers and the end-to-end sigma_max
    always use the whole batch. `end_to_end_samples` does the same for the end-to-end
    sigma_max when the model treats samples independently (see `end_to_end`)."""

    tolerance: float = DEFAULT_TOLERANCE  # relative change of sigma_max that stops an iteration
    layer_max_iterations: int = 64
    end_to_end_max_iterations: int = 64
    layer_samples: int | None = 1
    end_to_end_samples: int | None = 1
    layer_sigma: bool = True
    end_to_end: bool = True
