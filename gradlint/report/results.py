"""The report: per-model results and the run summary, independent of any output format."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from gradlint.analysis.facts import ProbeResult
from gradlint.findings import Finding, Severity


@dataclass(frozen=True)
class ModelError:
    """Why a model could not be analysed at all (exit code 2)."""

    code: str
    message: str


@dataclass(frozen=True)
class ModelReport:
    path: str
    format: str | None
    findings: tuple[Finding, ...] = ()
    probe: ProbeResult | None = None
    error: ModelError | None = None
    static_only: bool = False  # no probe ran: verdicts rest on the static rules alone
    # The LayerGraph's layers as `gradlint graph --format json` writes them, for the HTML report.
    graph_rows: tuple[Mapping[str, Any], ...] = field(default=(), hash=False)


@dataclass(frozen=True)
class Summary:
    models: int
    errors: int
    warnings: int
    infos: int
    failed_models: int  # models that could not be analysed


@dataclass(frozen=True)
class Report:
    models: tuple[ModelReport, ...]

    @property
    def findings(self) -> list[Finding]:
        return [finding for model in self.models for finding in model.findings]

    def summary(self) -> Summary:
        count = {severity: 0 for severity in Severity}
        for finding in self.findings:
            count[finding.severity] += 1
        return Summary(
            models=len(self.models),
            errors=count[Severity.ERROR],
            warnings=count[Severity.WARNING],
            infos=count[Severity.INFO],
            failed_models=sum(model.error is not None for model in self.models),
        )

    def exit_code(self, fail_on: Severity, exit_zero: bool = False) -> int:
        """2 if any model failed to load, else 1 if findings reach `fail_on` (unless exit_zero)."""
        if any(model.error is not None for model in self.models):
            return 2
        if exit_zero:
            return 0
        return int(any(f.severity.rank >= fail_on.rank for f in self.findings))
