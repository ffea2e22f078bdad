from __future__ import annotations

from measured_lint import MEASURED_RULES, found, report_of

CALIBRATION = "fixtures/calibration/models.py"


def test_one_layer_30x_too_large_is_a_hotspot() -> None:
    (finding,) = found(f"{MEASURED_RULES}:build_hotspot_mlp", "GL403")
    assert finding.node == "4"
    assert finding.evidence["sigma_max"] > 10 * finding.evidence["median_sigma"]


def test_he_relu_mlp_has_no_hotspot() -> None:
    assert found(f"{CALIBRATION}:build_he_relu_mlp", "GL403") == []


def test_attention_is_not_judged_by_its_activation_scaled_sigma(tmp_path) -> None:
    """ONNX, where attention internals are layers with probe data (GPT-2 small's read 13-18
    against a median of 0.39 and fired 11 warnings before attention was left out)."""
    import contextlib
    import io
    import warnings

    import torch

    from fixtures.measured_rule_models import build_loud_attention_mlp

    module, inputs = build_loud_attention_mlp()
    path = tmp_path / "loud_attention.onnx"
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore")
        torch.onnx.export(module.eval(), inputs, str(path), dynamo=False, input_names=["x"])
    report = report_of(str(path))
    kinds = {row["name"]: row["kind"] for row in report.graph_rows}
    sigmas = {p.node: p.sigma_max for p in report.probe.layers if p.sigma_max is not None}
    attention = max((name for name in sigmas if kinds[name] == "attention"), key=sigmas.get)
    weights = [sigma for name, sigma in sigmas.items() if kinds[name] == "linear"]
    assert sigmas[attention] > 10 and sigmas[attention] > 10 * max(weights)
    assert [f for f in report.findings if f.code == "GL403"] == []
