"""The JSON `probe` section (DESIGN.md schema version 1, fields added, none renamed).

{"device", "seed", "batch_size", "layers": [{"node", "grad_norm", "sigma_max",
"dead_fraction", "saturated_fraction", ...}], "end_to_end_sigma_max", ...}: every layer also
carries its output statistics, the depth profile, and how sigma_max was found (method,
iterations, converged); parameters carry ||grad||, ||weight|| and their ratio. Non-finite
numbers become null (strict JSON); "nan_count"/"inf_count" say where they were.
"""
from __future__ import annotations

import math
from typing import Any

from gradlint.analysis.facts import LayerProbe, ParameterProbe, ProbeResult


def probe_to_json(result: ProbeResult) -> dict[str, Any]:
    extra = dict(result.extra)
    return {
        "device": result.device,
        "seed": result.seed,
        "batch_size": result.batch_size,
        "layers": [_layer(layer) for layer in result.layers],
        "end_to_end_sigma_max": _number(result.end_to_end_sigma_max),
        "end_to_end_iterations": result.end_to_end_iterations,
        "end_to_end_converged": result.end_to_end_converged,
        "end_to_end_wrt": list(result.end_to_end_wrt),
        # the end-to-end sigma_max is over the first this-many samples (see probe.end_to_end)
        "end_to_end_samples": extra.get("end_to_end_samples"),
        "tolerance": result.tolerance,
        "seconds": _number(result.seconds),
        "timings": {k: _number(v) for k, v in dict(extra.get("seconds", {})).items()},
        "cotangent": extra.get("cotangent"),
        "parameters": [_parameter(p) for p in result.parameters],
    }


def _layer(layer: LayerProbe) -> dict[str, Any]:
    return {
        "node": layer.node,
        "grad_norm": _number(layer.grad_norm),
        "sigma_max": _number(layer.sigma_max),
        "dead_fraction": _number(layer.dead_fraction),
        "saturated_fraction": _number(layer.saturated_fraction),
        "grad_profile": _number(layer.grad_profile),
        "mean": _number(layer.mean),
        "std": _number(layer.std),
        "zero_fraction": _number(layer.zero_fraction),
        "nan_count": layer.nan_count,
        "inf_count": layer.inf_count,
        "sigma_method": layer.sigma_method,
        "sigma_iterations": layer.sigma_iterations,
        "sigma_converged": layer.sigma_converged,
    }


def _parameter(parameter: ParameterProbe) -> dict[str, Any]:
    return {
        "name": parameter.name,
        "grad_norm": _number(parameter.grad_norm),
        "weight_norm": _number(parameter.weight_norm),
        "ratio": _number(parameter.ratio),
    }


def _number(value: float | None) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    return float(value)
