"""`--format sarif`: SARIF 2.1.0 for GitHub code scanning and other SARIF viewers.

One run per invocation. The rule table becomes `tool.driver.rules` (the rule docs as full
description and help); each finding a result pointing at the model file, or at the Python
source line that built the layer, with a logical location naming the layer. A model that
could not be analysed is a tool execution notification, and the invocation is unsuccessful.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import quote

from gradlint import __version__
from gradlint.findings import Finding, Location, Severity
from gradlint.registry import Rule, rule_table
from gradlint.report.json_format import finding_to_json
from gradlint.report.paths import model_file, relative_posix
from gradlint.report.results import ModelReport, Report

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://pypi.org/project/gradlint/"
SRCROOT = "%SRCROOT%"
# The key of our own partialFingerprints entry: code scanning matches alerts across runs by it
# instead of hashing a line of a binary model file.
FINGERPRINT_KEY = "gradlintFingerprint/v1"

LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}


def render_sarif(report: Report, cwd: Path | None = None) -> str:
    return json.dumps(sarif_log(report, cwd or Path.cwd()), indent=2, allow_nan=False) + "\n"


def sarif_log(report: Report, cwd: Path) -> dict[str, Any]:
    rules = list(rule_table().values())
    index = {rule.code: position for position, rule in enumerate(rules)}
    results = [
        _result(model, finding, index, cwd) for model in report.models for finding in model.findings
    ]
    run: dict[str, Any] = {
        "tool": {"driver": _driver(rules)},
        "invocations": [_invocation(report, cwd)],
        "originalUriBaseIds": {SRCROOT: {"uri": Path(os.path.abspath(cwd)).as_uri() + "/"}},
        "results": results,
        "columnKind": "unicodeCodePoints",
    }
    return {"$schema": SCHEMA_URI, "version": "2.1.0", "runs": [run]}


def _driver(rules: Iterable[Rule]) -> dict[str, Any]:
    return {
        "name": "gradlint",
        "version": __version__,
        "semanticVersion": __version__,
        "informationUri": INFORMATION_URI,
        "rules": [_rule_descriptor(rule) for rule in rules],
    }


def _rule_descriptor(rule: Rule) -> dict[str, Any]:
    doc = rule.doc.strip() or rule.summary
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": doc, "markdown": doc},
        "help": {"text": doc, "markdown": doc},
        "defaultConfiguration": {"level": LEVELS[rule.severity]},
        "properties": {"category": rule.category.value, "tags": ["gradlint", rule.category.value]},
    }


def _result(model: ModelReport, finding: Finding, index: dict[str, int], cwd: Path) -> dict[str, Any]:
    as_json = finding_to_json(finding)
    result: dict[str, Any] = {
        "ruleId": finding.code,
        "level": LEVELS[finding.severity],
        "message": {"text": _message(finding)},
        "locations": [_location(model, finding, cwd)],
        "partialFingerprints": {FINGERPRINT_KEY: _fingerprint(model, finding)},
        "properties": {
            "category": as_json["category"],
            "model": model.path,
            "fix": finding.fix,
            "evidence": as_json["evidence"],
        },
    }
    if finding.code in index:
        result["ruleIndex"] = index[finding.code]
    return result


def _message(finding: Finding) -> str:
    layer = f"{finding.node}: " if finding.node else ""
    return f"{layer}{finding.message}"


def _fingerprint(model: ModelReport, finding: Finding) -> str:
    code, layer = finding.fingerprint
    return hashlib.sha256(f"{code}\0{layer}\0{model.path}".encode()).hexdigest()[:32]


def _location(model: ModelReport, finding: Finding, cwd: Path) -> dict[str, Any]:
    location: dict[str, Any] = {}
    physical = _physical_location(finding.location or _model_file(model), cwd)
    if physical is not None:
        location["physicalLocation"] = physical
    if finding.node:
        location["logicalLocations"] = [
            {"name": finding.node, "fullyQualifiedName": f"{model.path}::{finding.node}", "kind": "member"}
        ]
    else:
        location["logicalLocations"] = [{"name": model.path, "kind": "module"}]
    return location


def _model_file(model: ModelReport) -> Location | None:
    path = model_file(model.path)
    return None if path is None else Location(path=path)


def _physical_location(location: Location | None, cwd: Path) -> dict[str, Any] | None:
    if location is None or not location.path:
        return None
    physical: dict[str, Any] = {"artifactLocation": artifact_location(location.path, cwd)}
    if location.line is not None and location.line >= 1:
        physical["region"] = {"startLine": location.line}
    return physical


def artifact_location(path: str, cwd: Path) -> dict[str, Any]:
    """Relative to the run's %SRCROOT% (the working directory) when the file lies under it."""
    relative = relative_posix(path, cwd)
    if relative is None:
        return {"uri": Path(os.path.abspath(cwd / path)).as_uri()}
    return {"uri": quote(relative), "uriBaseId": SRCROOT}


def _invocation(report: Report, cwd: Path) -> dict[str, Any]:
    failed = [model for model in report.models if model.error is not None]
    invocation: dict[str, Any] = {"executionSuccessful": not failed}
    if failed:
        invocation["toolExecutionNotifications"] = [_notification(model, cwd) for model in failed]
    return invocation


def _notification(model: ModelReport, cwd: Path) -> dict[str, Any]:
    assert model.error is not None
    notification: dict[str, Any] = {
        "level": "error",
        "message": {"text": f"{model.path}: {model.error.message}"},
        "descriptor": {"id": f"gradlint/{model.error.code}"},
    }
    physical = _physical_location(_model_file(model), cwd)
    if physical is not None:
        notification["locations"] = [{"physicalLocation": physical}]
    return notification
