"""Small building blocks shared by rule modules."""
from __future__ import annotations

from typing import Callable, Iterator

from gradlint.findings import Finding
from gradlint.model import Diagnostic
from gradlint.registry import Rule, RuleContext


def report_diagnostics(
    ctx: RuleContext, rule: Rule, kind: str, fix: Callable[[Diagnostic], str]
) -> Iterator[Finding]:
    """Each loader/analysis Diagnostic of `kind` as one finding of `rule`."""
    for diagnostic in ctx.diagnostics(kind):
        evidence = {"op_type": diagnostic.op_type, **dict(diagnostic.details)}
        yield rule.finding(
            ctx,
            node=diagnostic.node,
            message=diagnostic.message,
            fix=fix(diagnostic),
            evidence={key: value for key, value in evidence.items() if value is not None},
        )
