"""Same model, seed and device: the same JSON apart from timings; any seed: the same verdicts.

GRADLINT_DETERMINISM=all checks the seed-independence on every calibration factory
(fixtures/calibration/models.py:build_*), which takes minutes; CI runs a representative subset.
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest

from gradlint.api import LintSettings, lint_target
from gradlint.options import AnalysisOptions
from gradlint.report.json_format import render_json
from gradlint.report.results import ModelReport, Report

REPO = Path(__file__).resolve().parents[1]
CALIBRATION = REPO / "fixtures" / "calibration" / "models.py"
TIMING_KEYS = ("seconds", "timings")
SEEDS = (0, 1, 2, 3, 4)
# Vanishing and exploding, the fastest factories whose verdicts sit near thresholds.
SUBSET = ("build_deep_sigmoid_mlp", "build_relu_large_init_mlp")


def _all_factories() -> tuple[str, ...]:
    return tuple(re.findall(r"^def (build_\w+)\(", CALIBRATION.read_text(), flags=re.MULTILINE))


FACTORIES = _all_factories() if os.environ.get("GRADLINT_DETERMINISM") == "all" else SUBSET


def _lint(target: str, seed: int) -> ModelReport:
    report = lint_target(target, LintSettings(options=AnalysisOptions(device="cpu", seed=seed)))
    assert report.error is None, report.error
    return report


def _without_timings(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _without_timings(item) for key, item in value.items() if key not in TIMING_KEYS}
    if isinstance(value, list):
        return [_without_timings(item) for item in value]
    return value


def _json(report: ModelReport) -> Any:
    return _without_timings(json.loads(render_json(Report(models=(report,)))))


@pytest.mark.parametrize(
    "target",
    [str(REPO / "fixtures" / "examples" / "healthy_relu_mlp.onnx"), f"{CALIBRATION}:build_deep_sigmoid_mlp"],
    ids=["example-onnx", "calibration-factory"],
)
def test_same_seed_gives_identical_json_apart_from_timings(target: str) -> None:
    first, second = _json(_lint(target, seed=3)), _json(_lint(target, seed=3))
    assert first["models"][0]["probe"] is not None  # the probe ran: its numbers are compared too
    assert first == second


@pytest.mark.parametrize("factory", FACTORIES)
def test_findings_do_not_depend_on_the_seed(factory: str) -> None:
    verdicts = {}
    for seed in SEEDS:
        report = _lint(f"{CALIBRATION}:{factory}", seed)
        verdicts[seed] = sorted({(finding.code, finding.node or "") for finding in report.findings})
    base = set(verdicts[SEEDS[0]])
    flips = {seed: sorted(set(found) ^ base) for seed, found in verdicts.items() if set(found) != base}
    assert not flips, f"{factory}: findings that differ from seed {SEEDS[0]}'s: {flips}"
