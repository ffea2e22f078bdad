from __future__ import annotations

import pytest

from gradlint.analysis.facts import LayerProbe, ProbeResult
from gradlint.findings import Severity
from gradlint.verdict import Basis, confirms_gain, decide, measured_ratio

PROBE = ProbeResult(device="cpu", seed=0, batch_size=8)


@pytest.mark.parametrize(
    ("probe", "confirmed", "basis", "severity", "expected_basis"),
    [
        (None, None, None, Severity.ERROR, Basis.STATIC_ONLY),
        (PROBE, True, None, Severity.ERROR, Basis.CONFIRMED),
        (PROBE, False, None, Severity.WARNING, Basis.UNCONFIRMED),
        (PROBE, None, None, Severity.WARNING, Basis.UNCONFIRMED),
        (PROBE, None, Basis.OBSERVED, Severity.ERROR, Basis.OBSERVED),
    ],
)
def test_an_error_needs_the_probe_to_confirm_it_when_one_ran(probe, confirmed, basis, severity, expected_basis) -> None:
    verdict = decide(Severity.ERROR, probe, confirmed, basis)
    assert (verdict.severity, verdict.basis) == (severity, expected_basis)


def test_warnings_are_never_raised_by_confirmation() -> None:
    assert decide(Severity.WARNING, PROBE, True).severity is Severity.WARNING


def test_measured_ratio_prefers_the_depth_profile() -> None:
    probe = ProbeResult("cpu", 0, 8, layers=(
        LayerProbe("a", grad_norm=1.0, grad_profile=8.0), LayerProbe("b", grad_norm=1.0, grad_profile=2.0),
        LayerProbe("c", grad_norm=3.0), LayerProbe("d", grad_norm=0.0),
    ))
    assert measured_ratio(probe, "a", "b") == 4.0
    assert measured_ratio(probe, "c", "a") == 3.0
    assert measured_ratio(probe, "a", "d") is None and measured_ratio(probe, "a", "zz") is None


def test_confirmation_needs_half_the_predicted_effect_in_log_scale() -> None:
    assert confirms_gain(4.0, None, 10.0) is True
    assert confirms_gain(2.0, None, 10.0) is False
    assert confirms_gain(0.05, 0.01, None) is True
    assert confirms_gain(None, 0.01, 10.0) is None


def test_an_unprobed_add_is_read_at_an_input_that_feeds_only_it() -> None:
    from gradlint.model import Layer, LayerGraph, LayerKind

    graph = LayerGraph()
    for name, kind in (("stem", LayerKind.LINEAR), ("fc", LayerKind.LINEAR), ("add", LayerKind.ADD)):
        graph.add_layer(Layer(name, kind))
    for edge in (("stem", "fc"), ("stem", "add"), ("fc", "add")):
        graph.add_edge(*edge)
    probe = ProbeResult("cpu", 0, 8, layers=(LayerProbe("stem", grad_norm=6.0), LayerProbe("fc", grad_norm=2.0)))
    assert measured_ratio(probe, "stem", "add") is None
    assert measured_ratio(probe, "stem", "add", graph) == 3.0
