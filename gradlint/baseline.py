"""Baselines: adopt gradlint in a repository without fixing every existing finding first.

`--baseline FILE` semantics:
- FILE does not exist: write the fingerprints of today's findings to it and report everything
  (commit the file; from then on only new findings are reported);
- FILE exists: report only findings whose fingerprint is not in it. Entries for findings that
  have gone away are harmless; `--update-baseline` rewrites FILE from today's findings.

A fingerprint is (rule code, layer, model), with the model path relative to the baseline
file's folder, so the same baseline works from any working directory and any checkout. Messages and numbers
are left out on purpose: a measured gain that drifts from 1e-7 to 2e-7 is the same finding.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, replace
from pathlib import Path

from gradlint.errors import UsageError
from gradlint.findings import Finding
from gradlint.report.paths import model_file
from gradlint.report.results import ModelReport, Report

BASELINE_VERSION = 1

Fingerprint = tuple[str, str, str]  # (code, layer, model)


@dataclass(frozen=True)
class BaselineOutcome:
    report: Report  # what is left to report
    written: bool  # the baseline file was written from this run
    suppressed: int  # findings hidden because the baseline has them


def model_key(target: str, root: Path) -> str:
    """`target` as the baseline names it: file paths relative to `root`, factories as given."""
    file = model_file(target)
    if file is None:
        return target
    absolute = os.path.abspath(file)
    try:
        relative = Path(os.path.relpath(absolute, root)).as_posix()
    except ValueError:  # another drive on Windows
        relative = Path(absolute).as_posix()
    return relative + target[len(file):]


def fingerprint(model: ModelReport, finding: Finding, root: Path) -> Fingerprint:
    code, layer = finding.fingerprint
    return (code, layer, model_key(model.path, root))


def report_fingerprints(report: Report, root: Path) -> set[Fingerprint]:
    return {fingerprint(model, finding, root) for model in report.models for finding in model.findings}


def load_baseline(path: Path) -> frozenset[Fingerprint]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        entries = data["findings"]
        if data.get("version") != BASELINE_VERSION:
            raise ValueError(f"version {data.get('version')!r} (expected {BASELINE_VERSION})")
        return frozenset((str(e["code"]), str(e["layer"]), str(e["model"])) for e in entries)
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise UsageError(f"cannot read baseline {path}: {error}") from None


def write_baseline(path: Path, report: Report) -> int:
    """Write today's fingerprints; returns how many."""
    root = Path(os.path.abspath(path)).parent
    entries = [
        {"code": code, "layer": layer, "model": model}
        for code, layer, model in sorted(report_fingerprints(report, root))
    ]
    document = {"version": BASELINE_VERSION, "tool": "gradlint", "findings": entries}
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    except OSError as error:
        raise UsageError(f"cannot write baseline {path}: {error.strerror or error}") from None
    return len(entries)


def filter_report(report: Report, known: frozenset[Fingerprint], root: Path) -> tuple[Report, int]:
    """The report without findings in `known`, and how many were dropped."""
    models, dropped = [], 0
    for model in report.models:
        kept = tuple(f for f in model.findings if fingerprint(model, f, root) not in known)
        dropped += len(model.findings) - len(kept)
        models.append(replace(model, findings=kept))
    return replace(report, models=tuple(models)), dropped


def apply_baseline(report: Report, path: Path, update: bool = False) -> BaselineOutcome:
    if update or not path.exists():
        write_baseline(path, report)
        return BaselineOutcome(report=report, written=True, suppressed=0)
    root = Path(os.path.abspath(path)).parent
    filtered, dropped = filter_report(report, load_baseline(path), root)
    return BaselineOutcome(report=filtered, written=False, suppressed=dropped)
