from __future__ import annotations

import json
from pathlib import Path

import pytest

from gradlint.baseline import apply_baseline, load_baseline, model_key
from gradlint.errors import UsageError
from gradlint.findings import Category, Finding, Severity
from gradlint.report.results import ModelError, ModelReport, Report


def _finding(code: str, node: str | None, message: str = "gain 1e-7") -> Finding:
    return Finding(code, "rule", Category.VANISHING, Severity.ERROR, node, message, "fix")


def _report(path: str, *findings: Finding) -> Report:
    return Report((ModelReport(path, "onnx", findings), ModelReport("gone.onnx", None, error=ModelError("load", "x"))))


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "net.onnx").write_bytes(b"x")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_missing_baseline_is_written_and_everything_reported(repo: Path) -> None:
    report = _report("models/net.onnx", _finding("GL401", "fc3"), _finding("GL101", None))
    outcome = apply_baseline(report, repo / "gradlint-baseline.json")
    assert outcome.written and outcome.report == report and outcome.suppressed == 0
    stored = json.loads((repo / "gradlint-baseline.json").read_text())
    assert stored["findings"] == [
        {"code": "GL101", "layer": "", "model": "models/net.onnx"},
        {"code": "GL401", "layer": "fc3", "model": "models/net.onnx"},
    ]


def test_existing_baseline_hides_known_findings_only(repo: Path) -> None:
    baseline = repo / "baseline.json"
    apply_baseline(_report("models/net.onnx", _finding("GL401", "fc3")), baseline)
    # Same rule and layer with drifted numbers is the same finding; a new layer is new.
    later = _report("models/net.onnx", _finding("GL401", "fc3", "gain 2e-7"), _finding("GL401", "fc4"))
    outcome = apply_baseline(later, baseline)
    assert not outcome.written and outcome.suppressed == 1
    assert [(f.code, f.node) for f in outcome.report.findings] == [("GL401", "fc4")]
    assert outcome.report.models[1].error is not None  # failed models still fail the run


def test_model_paths_match_from_another_directory(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    apply_baseline(_report("./models/net.onnx", _finding("GL401", "fc3")), repo / "baseline.json")
    monkeypatch.chdir(repo / "models")
    outcome = apply_baseline(_report("net.onnx", _finding("GL401", "fc3")), Path("../baseline.json"))
    assert outcome.suppressed == 1 and outcome.report.findings == []


def test_same_layer_in_another_model_is_new(repo: Path) -> None:
    apply_baseline(_report("models/net.onnx", _finding("GL401", "fc3")), repo / "b.json")
    outcome = apply_baseline(_report("other.onnx", _finding("GL401", "fc3")), repo / "b.json")
    assert outcome.suppressed == 0 and len(outcome.report.findings) == 1


def test_update_rewrites_the_baseline(repo: Path) -> None:
    baseline = repo / "b.json"
    apply_baseline(_report("models/net.onnx", _finding("GL401", "fc3")), baseline)
    apply_baseline(_report("models/net.onnx", _finding("GL402", "fc1")), baseline, update=True)
    assert load_baseline(baseline) == {("GL402", "fc1", "models/net.onnx")}


def test_factory_targets_keep_their_factory_name(repo: Path) -> None:
    (repo / "models.py").write_text("")
    assert model_key("models.py:build", repo / "sub") == "../models.py:build"
    assert model_key("package.models:build", repo) == "package.models:build"


@pytest.mark.parametrize("text", ["not json", '{"findings": [{"code": "GL1"}], "version": 1}', '{"version": 9, "findings": []}'])
def test_unreadable_baseline_is_a_usage_error(repo: Path, text: str) -> None:
    (repo / "b.json").write_text(text)
    with pytest.raises(UsageError, match="cannot read baseline"):
        apply_baseline(_report("models/net.onnx"), repo / "b.json")
