"""`--format json`, schema version 1 of DESIGN.md. Adding fields is compatible; renaming is not."""
from __future__ import annotations

import dataclasses
import json
import math
from typing import Any

from gradlint.findings import Finding
from gradlint.report.results import ModelReport, Report

SCHEMA_VERSION = 1


def finding_to_json(finding: Finding) -> dict[str, Any]:
    location = finding.location
    return {
        "code": finding.code,
        "name": finding.name,
        "category": finding.category.value,
        "severity": finding.severity.value,
        "node": finding.node,
        "message": finding.message,
        "evidence": _jsonable(dict(finding.evidence)),
        "fix": finding.fix,
        "location": None if location is None else {"path": location.path, "line": location.line},
    }


def _probe_json(model: ModelReport) -> dict[str, Any] | None:
    if model.probe is None:
        return None
    try:
        from gradlint.analysis.probe.serialize import probe_to_json
    except ImportError:  # the probe package is optional until it lands
        return _jsonable(dataclasses.asdict(model.probe))
    return _jsonable(probe_to_json(model.probe))


def model_to_json(model: ModelReport) -> dict[str, Any]:
    error = None if model.error is None else {"code": model.error.code, "message": model.error.message}
    return {
        "path": model.path,
        "format": model.format,
        "error": error,
        "findings": [finding_to_json(finding) for finding in model.findings],
        "probe": _probe_json(model),
        "static_only": model.static_only,
    }


def report_to_json(report: Report) -> dict[str, Any]:
    summary = report.summary()
    return {
        "version": SCHEMA_VERSION,
        "models": [model_to_json(model) for model in report.models],
        "summary": {
            "models": summary.models,
            "errors": summary.errors,
            "warnings": summary.warnings,
            "infos": summary.infos,
        },
    }


def render_json(report: Report) -> str:
    return json.dumps(report_to_json(report), indent=2, allow_nan=False) + "\n"


def _jsonable(value: Any) -> Any:
    """Plain JSON: tuples to lists, non-finite floats to strings ('inf', 'nan')."""
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if hasattr(value, "item") and callable(value.item):  # numpy / torch scalars
        return _jsonable(value.item())
    if hasattr(value, "value") and isinstance(getattr(value, "value"), str):  # enums
        return value.value
    return value
