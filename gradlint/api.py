"""The pipeline as a library: load -> analyse -> rules -> policy, one model at a time."""
from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from typing import Callable, Mapping, Sequence

from gradlint.analysis.pipeline import PARITY_TOLERANCE, analyse
from gradlint.errors import GradlintError
from gradlint.model import LoadedModel
from gradlint.options import AnalysisOptions, InputOverrides
from gradlint.policy import Policy
from gradlint.registry import RuleContext, rule_table, run_rules
from gradlint.report.graph import layer_dict
from gradlint.report.results import ModelError, ModelReport, Report
from gradlint.time_limit import AnalysisTimeout, time_limit
from gradlint.time_limit import check as check_time_limit


@dataclass(frozen=True)
class LintSettings:
    """Resolved settings: CLI over config file over defaults."""

    options: AnalysisOptions = field(default_factory=AnalysisOptions)
    policy: Policy = field(default_factory=Policy)
    thresholds: Mapping[str, Mapping[str, float]] = field(default_factory=dict, hash=False)
    # Input options from the config file, per model glob, already parsed.
    inputs_by_glob: tuple[tuple[str, InputOverrides], ...] = ()

    def options_for(self, target: str) -> AnalysisOptions:
        """The CLI's input overrides win over the config file's for the same input name."""
        from gradlint.config import _glob_matches

        merged = InputOverrides()
        for pattern, overrides in self.inputs_by_glob:
            if _glob_matches(pattern, target):
                merged = _merge(merged, overrides)
        return replace(self.options, inputs=_merge(merged, self.options.inputs))


def _merge(base: InputOverrides, top: InputOverrides) -> InputOverrides:
    return InputOverrides(
        shapes={**base.shapes, **top.shapes},
        values={**base.values, **top.values},
        dtypes={**base.dtypes, **top.dtypes},
    )


def lint_target(target: str, settings: LintSettings, progress: object | None = None) -> ModelReport:
    """Analyse one model; a model that cannot be analysed becomes a report with an error."""
    from gradlint.loaders import load_model

    return lint_loader(target, lambda options: load_model(target, options), settings, progress)


def lint_loader(
    target: str,
    load: Callable[[AnalysisOptions], LoadedModel],
    settings: LintSettings,
    progress: object | None = None,
) -> ModelReport:
    """`lint_target` for any way of loading (an in-memory nn.Module, for the Python API)."""
    options = settings.options_for(target)
    try:
        with time_limit(options.timeout):
            return _lint_loaded(target, load, settings, options, progress)
    except AnalysisTimeout as timeout:
        return ModelReport(path=target, format=None, error=ModelError("resource", str(timeout)))


def _lint_loaded(
    target: str,
    load: Callable[[AnalysisOptions], LoadedModel],
    settings: LintSettings,
    options: AnalysisOptions,
    progress: object | None,
) -> ModelReport:
    try:
        model = load(options)
        check_time_limit()
        tolerance = settings.thresholds.get("GL902", {}).get("tolerance", PARITY_TOLERANCE)
        facts = analyse(model, options, parity_tolerance=tolerance, progress=progress)
        check_time_limit()
    except GradlintError as error:
        return ModelReport(path=target, format=None, error=ModelError(error.code, error.message))
    except (MemoryError, RecursionError) as error:
        message = f"ran out of {'memory' if isinstance(error, MemoryError) else 'stack'} while loading"
        return ModelReport(path=target, format=None, error=ModelError("resource", message))
    except Exception as error:  # a gradlint bug: still one line, and the other models go on
        if os.environ.get("GRADLINT_DEBUG"):
            raise
        cause = " ".join(str(error).split())[:300]
        message = f"internal error: {type(error).__name__}: {cause} (set GRADLINT_DEBUG=1 for a traceback)"
        return ModelReport(path=target, format=None, error=ModelError("internal", message))
    rules = settings.policy.enabled(rule_table().values())
    findings = run_rules(RuleContext(model, facts, settings.thresholds), rules)
    return ModelReport(
        path=target,
        format=model.format,
        findings=tuple(settings.policy.apply(findings)),
        probe=facts.probe,
        static_only=facts.probe is None,
        graph_rows=tuple(layer_dict(layer) for layer in model.graph.layers()),
    )


def lint_targets(
    targets: Sequence[str], settings: LintSettings, progress: object | None = None
) -> Report:
    return Report(models=tuple(lint_target(target, settings, progress) for target in targets))
