"""Facts analyses attach to a loaded model; rules read them and nothing else.

Every result here is frozen. Analyses fill what they measured and leave the rest None, so a
rule can tell "not measured" from "measured as zero".
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from gradlint.model import Diagnostic


@dataclass(frozen=True)
class ParityResult:
    """Executor vs onnxruntime on the same inputs, in the model's inference semantics."""

    max_relative_error: float
    tolerance: float
    per_output: Mapping[str, float] = field(default_factory=dict, hash=False, compare=False)

    @property
    def passed(self) -> bool:
        return self.max_relative_error <= self.tolerance


@dataclass(frozen=True)
class LayerProbe:
    """What the probes measured at one layer's output (None: not measured)."""

    node: str
    grad_norm: float | None = None
    sigma_max: float | None = None
    dead_fraction: float | None = None
    saturated_fraction: float | None = None
    mean: float | None = None
    std: float | None = None
    zero_fraction: float | None = None
    nan_count: int = 0
    inf_count: int = 0
    sigma_iterations: int | None = None
    sigma_converged: bool | None = None
    extra: Mapping[str, object] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class ProbeResult:
    device: str
    seed: int
    batch_size: int
    layers: tuple[LayerProbe, ...] = ()
    end_to_end_sigma_max: float | None = None
    seconds: float | None = None
    extra: Mapping[str, object] = field(default_factory=dict, hash=False, compare=False)

    def layer(self, name: str) -> LayerProbe | None:
        for probe in self.layers:
            if probe.node == name:
                return probe
        return None


@dataclass(frozen=True)
class Facts:
    """Everything known about one model after analysis."""

    diagnostics: tuple[Diagnostic, ...] = ()
    parity: ParityResult | None = None
    probe: ProbeResult | None = None
    static: Mapping[str, object] = field(default_factory=dict, hash=False, compare=False)
