"""Facts analyses attach to a loaded model; rules read them and nothing else.

Every result here is frozen. Analyses fill what they measured and leave the rest None, so a
rule can tell "not measured" from "measured as zero".
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Mapping

from gradlint.model import Diagnostic

if TYPE_CHECKING:
    from gradlint.analysis.static import StaticFacts


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
    # Backward gradient norm with pooling's fixed shrinkage divided out: comparable across
    # depth, width and spatial size (defined in gradlint.analysis.probe.gradients).
    grad_profile: float | None = None
    sigma_method: str | None = None  # diagonal | constant | lanczos (gradlint.analysis.probe)


@dataclass(frozen=True)
class ParameterProbe:
    """One parameter after the backward probe: ||grad||, ||weight||, and their ratio."""

    name: str
    grad_norm: float | None
    weight_norm: float

    @property
    def ratio(self) -> float | None:
        if self.grad_norm is None or self.weight_norm == 0:
            return None
        return self.grad_norm / self.weight_norm


@dataclass(frozen=True)
class ProbeResult:
    device: str
    seed: int
    batch_size: int
    layers: tuple[LayerProbe, ...] = ()
    end_to_end_sigma_max: float | None = None
    seconds: float | None = None
    extra: Mapping[str, object] = field(default_factory=dict, hash=False, compare=False)
    parameters: tuple[ParameterProbe, ...] = ()
    end_to_end_iterations: int | None = None
    end_to_end_converged: bool | None = None
    end_to_end_wrt: tuple[str, ...] = ()  # the float inputs, or the first embedding layer
    tolerance: float | None = None
    diagnostics: tuple[Diagnostic, ...] = ()

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
    static: "StaticFacts | None" = field(default=None, hash=False, compare=False)
