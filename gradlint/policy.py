"""Policy: which rules run and how their findings count, separate from detection.

Selection follows ruff: codes and prefixes (`GL4`, `GL40`, `GL401`) in `select`/`extend_select`
and `ignore`; for each code the most specific matching prefix decides, and on a tie `ignore`
wins. Severity overrides take prefixes too; per-layer ignores match layer names by glob.
"""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field, replace
from typing import Iterable, Mapping

from gradlint.findings import Finding, Severity
from gradlint.registry import Rule

ALL = "GL"


def _longest_match(code: str, prefixes: Iterable[str]) -> int:
    return max((len(p) for p in prefixes if code.startswith(p.upper())), default=-1)


@dataclass(frozen=True)
class Policy:
    select: tuple[str, ...] = (ALL,)
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    severity_overrides: Mapping[str, Severity] = field(default_factory=dict, hash=False)
    per_layer_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    fail_on: Severity = Severity.ERROR

    def is_selected(self, code: str) -> bool:
        selected = _longest_match(code, (*self.select, *self.extend_select))
        return selected >= 0 and selected > _longest_match(code, self.ignore)

    def enabled(self, rules: Iterable[Rule]) -> list[Rule]:
        return [rule for rule in rules if self.is_selected(rule.code)]

    def severity_of(self, finding: Finding) -> Severity:
        best, severity = -1, finding.severity
        for prefix, override in self.severity_overrides.items():
            if finding.code.startswith(prefix.upper()) and len(prefix) > best:
                best, severity = len(prefix), override
        return severity

    def ignored_on_layer(self, finding: Finding) -> bool:
        layer = finding.node or ""
        return any(
            fnmatch.fnmatchcase(layer, pattern) and _longest_match(finding.code, codes) >= 0
            for pattern, codes in self.per_layer_ignores
        )

    def apply(self, findings: Iterable[Finding]) -> list[Finding]:
        """Drop unselected and layer-ignored findings; apply severity overrides."""
        kept = []
        for finding in findings:
            if not self.is_selected(finding.code) or self.ignored_on_layer(finding):
                continue
            severity = self.severity_of(finding)
            kept.append(finding if severity == finding.severity else replace(finding, severity=severity))
        return kept

    def fails(self, findings: Iterable[Finding]) -> bool:
        return any(f.severity.rank >= self.fail_on.rank for f in findings)
