from __future__ import annotations

from static_lint import CALIBRATION, RULE_MODELS, codes, lint_static, load

from gradlint.analysis.facts import Facts
from gradlint.analysis.static import static_facts
from gradlint.registry import RuleContext, rule_table


def test_a_40_layer_plain_relu_stack_triggers() -> None:
    findings = [f for f in lint_static(f"{RULE_MODELS}:build_deep_plain_relu_mlp") if f.code == "GL101"]
    assert len(findings) == 1
    assert findings[0].evidence["layers"] == 40 and findings[0].severity.value == "warning"


def test_its_onnx_export_triggers_too(onnx_of) -> None:
    assert "GL101" in codes(lint_static(onnx_of(RULE_MODELS, "deep_plain_relu_mlp")))


def test_a_20_layer_he_mlp_does_not() -> None:
    assert "GL101" not in codes(lint_static(f"{CALIBRATION}:build_he_relu_mlp"))


def test_a_50_layer_orthogonal_tanh_stack_is_exempt_as_isometric() -> None:
    assert "GL101" not in codes(lint_static(f"{CALIBRATION}:build_orthogonal_tanh_mlp"))


def test_the_depth_limit_is_a_threshold() -> None:
    model = load(f"{CALIBRATION}:build_he_relu_mlp")
    ctx = RuleContext(model, Facts(static=static_facts(model)), {"GL101": {"max_depth": 10}})
    assert [f.code for f in rule_table()["GL101"].check(ctx)] == ["GL101"]
