from __future__ import annotations

from gradlint.findings import Category, Finding, Severity
from gradlint.policy import Policy


def finding(code: str, node: str = "fc1", severity: Severity = Severity.ERROR) -> Finding:
    return Finding(code, "name", Category.TOOL, severity, node, "message", "fix")


def test_prefix_selection_most_specific_wins() -> None:
    policy = Policy(select=("GL",), ignore=("GL4",), extend_select=("GL401",))
    assert policy.is_selected("GL101")
    assert not policy.is_selected("GL402")
    assert policy.is_selected("GL401")


def test_ignore_wins_a_tie_and_unselected_families_stay_off() -> None:
    assert not Policy(select=("GL9",), ignore=("GL9",)).is_selected("GL901")
    assert not Policy(select=("GL9",)).is_selected("GL401")


def test_severity_override_by_most_specific_prefix() -> None:
    policy = Policy(severity_overrides={"GL9": Severity.INFO, "GL902": Severity.WARNING})
    kept = policy.apply([finding("GL901"), finding("GL902")])
    assert [f.severity for f in kept] == [Severity.INFO, Severity.WARNING]


def test_per_layer_ignore_by_glob() -> None:
    policy = Policy(per_layer_ignores=(("encoder.*", ("GL4",)),))
    kept = policy.apply([finding("GL401", "encoder.layer.1"), finding("GL401", "head"), finding("GL901", "encoder.x")])
    assert [(f.code, f.node) for f in kept] == [("GL401", "head"), ("GL901", "encoder.x")]


def test_fails_at_or_above_threshold() -> None:
    warnings_only = [finding("GL901", severity=Severity.WARNING)]
    assert not Policy().fails(warnings_only)
    assert Policy(fail_on=Severity.WARNING).fails(warnings_only)
