"""Helpers for rule tests: load fixture models once, run the static rules, export to ONNX.

`lint_static("fixtures/calibration/models.py:build_he_relu_mlp")` loads the model through
gradlint's own loader (as the CLI does with --no-probe), computes the static facts and returns
the findings of every static rule (GL1xx, GL2xx and the static GL3xx).
"""
from __future__ import annotations

import functools
import importlib.util
import warnings
from pathlib import Path
from typing import Callable

import torch

from gradlint.analysis.facts import Facts
from gradlint.analysis.static import static_facts
from gradlint.findings import Finding
from gradlint.loaders import load_model
from gradlint.model import LoadedModel
from gradlint.options import AnalysisOptions
from gradlint.registry import RuleContext, rule_table

ROOT = Path(__file__).resolve().parents[2]
CALIBRATION = "fixtures/calibration/models.py"
TRANSFORMERS = "fixtures/calibration/transformers_models.py"
RULE_MODELS = "fixtures/static_rule_models.py"
STATIC_CODES = ("GL101", "GL102", "GL103", "GL104", "GL201", "GL202", "GL203", "GL204", "GL301", "GL302")


@functools.lru_cache(maxsize=None)
def load(target: str) -> LoadedModel:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return load_model(_absolute(target), AnalysisOptions(probe=False, parity=False))


def _absolute(target: str) -> str:
    path, _, factory = target.partition(":")
    return f"{ROOT / path}:{factory}" if factory else target


def run_static_rules(model: LoadedModel, codes: tuple[str, ...] = STATIC_CODES) -> list[Finding]:
    ctx = RuleContext(model, Facts(diagnostics=model.diagnostics, static=static_facts(model)))
    return [finding for code in codes for finding in rule_table()[code].check(ctx)]


def lint_static(target: str) -> list[Finding]:
    """Static findings for a factory target or an ONNX path (cached per session)."""
    return run_static_rules(load(target))


def export_onnx(source: str, name: str, folder: Path, training: bool = False) -> str:
    """The factory's model exported by the TorchScript exporter (eval or training mode)."""
    path = folder / f"{name}{'-train' if training else ''}.onnx"
    if not path.exists():
        module, example = factory(source, name)()
        mode = torch.onnx.TrainingMode.TRAINING if training else torch.onnx.TrainingMode.EVAL
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(module, example, str(path), dynamo=False, training=mode)
    return str(path)


def factory(source: str, name: str) -> Callable[[], tuple[torch.nn.Module, tuple[torch.Tensor, ...]]]:
    spec = importlib.util.spec_from_file_location(Path(source).stem, ROOT / source)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, f"build_{name}")


def codes(findings: list[Finding]) -> set[str]:
    return {finding.code for finding in findings}
