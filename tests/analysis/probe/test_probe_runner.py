"""run_probes: determinism, devices, batch reduction, diagnostics, JSON."""
from __future__ import annotations

import json

import pytest
import torch
from torch import nn

from gradlint.analysis.probe import ProbeSettings, probe_device, run_probes
from gradlint.analysis.probe.runtime import with_batch
from gradlint.analysis.probe.serialize import probe_to_json
from gradlint.errors import UsageError
from gradlint.loaders.torch.module_runnable import ModuleRunnable, default_layer_paths, hook_layer_graph
from gradlint.model import InputSpec, LayerGraph, LoadedModel
from gradlint.options import AnalysisOptions
from small_models import loaded


def test_two_runs_are_identical_and_seeds_matter() -> None:
    first = run_probes(loaded("conv"), AnalysisOptions(seed=5))
    second = run_probes(loaded("conv"), AnalysisOptions(seed=5))
    other = run_probes(loaded("conv"), AnalysisOptions(seed=6))
    assert first.layers == second.layers
    assert first.parameters == second.parameters
    assert first.end_to_end_sigma_max == second.end_to_end_sigma_max
    assert first.layers != other.layers


class Greedy(nn.Module):
    """Pretends to run out of memory above batch 2."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[0] > 2:
            raise RuntimeError("CUDA out of memory. Tried to allocate 20.00 GiB")
        return self.fc(x)


def _model(module: nn.Module, spec: InputSpec) -> LoadedModel:
    example = torch.zeros(spec.shape, dtype=spec.dtype)[:1]
    graph = hook_layer_graph(module, [example])
    return LoadedModel("m", "python", ModuleRunnable(module, [spec.name], default_layer_paths(module)), (spec,), graph)


def test_batch_is_halved_until_the_model_fits_with_a_diagnostic() -> None:
    result = run_probes(_model(Greedy(), InputSpec("x", (8, 3), torch.float32)), AnalysisOptions())
    assert result.batch_size == 2
    notes = [d for d in result.diagnostics if d.kind == "probe-batch-reduced"]
    assert [(d.details["from"], d.details["to"]) for d in notes] == [(8, 4), (4, 2)]


def test_other_errors_are_not_mistaken_for_memory() -> None:
    class Broken(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            raise ValueError("bad model")

    spec = InputSpec("x", (4, 3), torch.float32)
    model = LoadedModel("m", "python", ModuleRunnable(Broken(), ["x"], []), (spec,), LayerGraph())
    with pytest.raises(ValueError):
        run_probes(model, AnalysisOptions())


def test_fixed_batch_of_one_is_kept() -> None:
    specs = (InputSpec("x", (1, 3), torch.float32), InputSpec("s", (2, 1, 4), torch.float32, batch_axis=1))
    assert with_batch(specs, 8, 4) == specs
    halved = with_batch((InputSpec("x", (8, 3), torch.float32),), 8, 4)
    assert halved[0].shape == (4, 3)
    result = run_probes(_model(nn.Linear(3, 2), InputSpec("x", (1, 3), torch.float32)), AnalysisOptions())
    assert result.batch_size == 1


def test_device_choice() -> None:
    assert probe_device("cpu") == torch.device("cpu")
    assert probe_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(UsageError):
            probe_device("cuda")


def test_iteration_cap_is_reported() -> None:
    result = run_probes(loaded("conv"), AnalysisOptions(), settings=ProbeSettings(
        tolerance=1e-12, layer_max_iterations=2, end_to_end_max_iterations=2))
    assert result.end_to_end_iterations == 2 and result.end_to_end_converged is False
    assert any(layer.sigma_converged is False for layer in result.layers)
    assert any(d.kind == "probe-not-converged" for d in result.diagnostics)


def test_json_section_has_the_design_fields_and_is_strict() -> None:
    result = run_probes(loaded("mlp"), AnalysisOptions())
    section = probe_to_json(result)
    assert {"device", "seed", "batch_size", "layers", "end_to_end_sigma_max"} <= set(section)
    assert {"node", "grad_norm", "sigma_max", "dead_fraction", "saturated_fraction",
            "sigma_iterations", "sigma_converged", "grad_profile"} <= set(section["layers"][0])
    assert section["device"] == "cpu" and section["batch_size"] == 4
    assert section["end_to_end_samples"] == 1  # an MLP's samples are independent
    assert section["parameters"] and {"name", "grad_norm", "weight_norm", "ratio"} <= set(section["parameters"][0])
    json.dumps(section, allow_nan=False)
    tanh = [layer for layer in section["layers"] if layer["node"] == "1"][0]
    assert tanh["saturated_fraction"] is not None
