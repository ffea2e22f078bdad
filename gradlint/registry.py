"""Rules as data: the Rule record, the context a check receives, and the rule table.

A rule module (one per file in `rules/`) defines `RULE = Rule(...)` whose `doc` is the module
docstring. The table is the built-in pack plus third-party packs registered under the entry
point group `gradlint.rules` (each entry point loads a Rule or an iterable of Rules).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any, Callable, Iterable, Iterator, Mapping

from gradlint.analysis.facts import Facts
from gradlint.findings import Category, Finding, Location, Severity
from gradlint.model import Diagnostic, LoadedModel

ENTRY_POINT_GROUP = "gradlint.rules"


@dataclass(frozen=True)
class RuleContext:
    """Everything a check may read: the model, its facts, and per-rule thresholds."""

    model: LoadedModel
    facts: Facts
    thresholds: Mapping[str, Mapping[str, float]] = field(default_factory=dict)

    def diagnostics(self, kind: str) -> list[Diagnostic]:
        return [d for d in self.facts.diagnostics if d.kind == kind]

    def threshold(self, code: str, key: str, default: float) -> float:
        return float(self.thresholds.get(code, {}).get(key, default))

    def location_of(self, node: str | None) -> Location:
        """The layer's source line when the loader knows it, else the model file."""
        if node is not None and node in self.model.graph:
            location = self.model.graph.layer(node).location
            if location is not None:
                return location
        return Location(path=self.model.path)


Check = Callable[[RuleContext], Iterable[Finding]]


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    category: Category
    severity: Severity
    check: Check = field(compare=False)
    doc: str = field(default="", compare=False)

    @property
    def summary(self) -> str:
        """The first line of the documentation."""
        return (self.doc or "").strip().splitlines()[0] if self.doc else self.name

    def finding(
        self,
        ctx: RuleContext,
        node: str | None,
        message: str,
        fix: str,
        evidence: Mapping[str, Any] | None = None,
        severity: Severity | None = None,
    ) -> Finding:
        return Finding(
            code=self.code,
            name=self.name,
            category=self.category,
            severity=severity or self.severity,
            node=node,
            message=message,
            fix=fix,
            evidence=dict(evidence or {}),
            location=ctx.location_of(node),
        )


def _entry_point_rules() -> Iterator[Rule]:
    for entry_point in metadata.entry_points(group=ENTRY_POINT_GROUP):
        loaded = entry_point.load()
        yield from ([loaded] if isinstance(loaded, Rule) else loaded)


@functools.lru_cache(maxsize=1)
def rule_table() -> dict[str, Rule]:
    """Code -> Rule, built-in first; a plugin may not redefine a built-in code."""
    from gradlint.rules import BUILTIN_RULES

    table: dict[str, Rule] = {}
    for rule in (*BUILTIN_RULES, *_entry_point_rules()):
        if rule.code in table:
            raise ValueError(f"rule code {rule.code} is defined twice ({rule.name})")
        table[rule.code] = rule
    return dict(sorted(table.items()))


def run_rules(ctx: RuleContext, rules: Iterable[Rule]) -> list[Finding]:
    """All findings of the given rules, in a stable order (layer order, then code)."""
    findings = [finding for rule in rules for finding in rule.check(ctx)]
    order = {layer.name: index for index, layer in enumerate(ctx.model.graph.layers())}
    return sorted(findings, key=lambda f: (order.get(f.node or "", -1), f.code, f.node or ""))
