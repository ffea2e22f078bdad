"""The verdict policy every rule shares: when a prediction may be an error.

DESIGN.md: an error needs the measured signal when a probe ran; with --no-probe the static
rules decide alone and the report says so. Concretely, a rule says what kind of evidence it
has and whether the probe confirmed it, and `decide` caps the severity:

- OBSERVED: read exactly off the weights or the graph (all-zero weights, identical rows).
  Nothing to confirm; the rule's severity stands.
- MEASURED: the probe itself measured it (GL4xx). The rule's severity stands.
- predicted (mean-field gain, Yang's BN factor, variance sums):
  - no probe ran: the rule's severity stands, marked STATIC_ONLY in the evidence;
  - the probe ran and confirmed it (`confirmed=True`): CONFIRMED, severity stands;
  - the probe ran and did not confirm it (disagreed, or could not measure it): UNCONFIRMED,
    an error becomes a warning.

A predicted gain is confirmed when the measured gradient-norm ratio between the same two
layers lies beyond the square root of the rule's threshold, in the same direction (at least
half the predicted effect in log scale: a 10x threshold needs >= 3.2x measured).
"""
from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import Any, Mapping

from gradlint.analysis.facts import LayerProbe, ProbeResult
from gradlint.findings import Finding, Severity
from gradlint.model import LayerGraph, LayerKind
from gradlint.registry import Rule, RuleContext


class Basis(str, enum.Enum):
    OBSERVED = "observed"
    MEASURED = "measured"
    STATIC_ONLY = "static-only"
    CONFIRMED = "confirmed"
    UNCONFIRMED = "unconfirmed"


_NOTES = {
    Basis.OBSERVED: "read off the weights and the graph",
    Basis.MEASURED: "measured by the probe",
    Basis.STATIC_ONLY: "static prediction alone: no probe ran",
    Basis.CONFIRMED: "static prediction, confirmed by the probe",
    Basis.UNCONFIRMED: "static prediction the probe did not confirm: at most a warning",
}


@dataclass(frozen=True)
class Verdict:
    severity: Severity
    basis: Basis

    @property
    def note(self) -> str:
        return _NOTES[self.basis]


def decide(
    severity: Severity,
    probe: ProbeResult | None,
    confirmed: bool | None = None,
    basis: Basis | None = None,
) -> Verdict:
    """The severity a finding may carry; `basis` OBSERVED/MEASURED skips confirmation."""
    if basis in (Basis.OBSERVED, Basis.MEASURED):
        return Verdict(severity, basis)
    if probe is None:
        return Verdict(severity, Basis.STATIC_ONLY)
    if confirmed:
        return Verdict(severity, Basis.CONFIRMED)
    capped = Severity.WARNING if severity is Severity.ERROR else severity
    return Verdict(capped, Basis.UNCONFIRMED)


def judged_finding(
    rule: Rule,
    ctx: RuleContext,
    node: str | None,
    message: str,
    fix: str,
    evidence: Mapping[str, Any],
    confirmed: bool | None = None,
    basis: Basis | None = None,
) -> Finding:
    """`rule.finding` with the severity `decide` allows and the verdict in the evidence."""
    verdict = decide(rule.severity, ctx.facts.probe, confirmed, basis)
    full = {**evidence, "verdict": verdict.basis.value, "verdict_note": verdict.note}
    return rule.finding(ctx, node, message, fix, full, severity=verdict.severity)


def measured_ratio(
    probe: ProbeResult | None, upstream: str, downstream: str, graph: LayerGraph | None = None
) -> float | None:
    """The measured gradient-norm ratio upstream / downstream (None: either not measured).

    Uses the probe's depth profile (`grad_profile`: pooling's fixed shrinkage divided out, so
    comparable across layers) where it has one, else the raw `grad_norm`. With the graph, an
    unprobed ADD (a merge with no module to hook) is read at an input that feeds nothing else:
    a sum passes its output gradient unchanged to each input.
    """
    if probe is None:
        return None
    first, last = _probed(probe, upstream, graph), _probed(probe, downstream, graph)
    if first is None or last is None:
        return None
    for field_name in ("grad_profile", "grad_norm"):
        top, bottom = getattr(first, field_name, None), getattr(last, field_name, None)
        if top is not None and bottom:
            return top / bottom
    return None


def _probed(probe: ProbeResult, name: str, graph: LayerGraph | None) -> LayerProbe | None:
    found = probe.layer(name)
    if found is not None or graph is None or name not in graph or graph.layer(name).kind != LayerKind.ADD:
        return found
    for source in graph.predecessors(name):
        if graph.successors(source) == [name] and probe.layer(source) is not None:
            return probe.layer(source)
    return None


def confirms_gain(measured: float | None, low: float | None, high: float | None) -> bool | None:
    """Whether a measured norm ratio confirms a predicted one beyond `high` (or below `low`)."""
    if measured is None or math.isnan(measured):
        return None
    if high is not None and measured >= math.sqrt(high):
        return True
    if low is not None and measured <= math.sqrt(low):
        return True
    return False
