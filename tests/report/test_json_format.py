from __future__ import annotations

import json

from gradlint.analysis.facts import LayerProbe, ProbeResult
from gradlint.findings import Category, Finding, Location, Severity
from gradlint.report.json_format import render_json
from gradlint.report.results import ModelError, ModelReport, Report


def test_schema_version_1_fields() -> None:
    finding = Finding("GL902", "parity-mismatch", Category.TOOL, Severity.ERROR, "fc1", "m", "f",
                      evidence={"error": float("inf"), "shape": (2, 3)}, location=Location("m.onnx", None))
    probe = ProbeResult(device="cpu", seed=0, batch_size=8, layers=(LayerProbe("fc1", grad_norm=1.5),),
                        end_to_end_sigma_max=2.0)
    report = Report((ModelReport("m.onnx", "onnx", (finding,), probe),
                     ModelReport("bad.onnx", None, error=ModelError("load", "truncated"))))
    data = json.loads(render_json(report))
    assert data["version"] == 1
    assert data["summary"] == {"models": 2, "errors": 1, "warnings": 0, "infos": 0}
    first, second = data["models"]
    assert set(first) >= {"path", "format", "error", "findings", "probe"}
    assert first["findings"][0] == {
        "code": "GL902", "name": "parity-mismatch", "category": "tool", "severity": "error",
        "node": "fc1", "message": "m", "evidence": {"error": "inf", "shape": [2, 3]}, "fix": "f",
        "location": {"path": "m.onnx", "line": None},
    }
    assert first["probe"]["device"] == "cpu" and first["probe"]["end_to_end_sigma_max"] == 2.0
    assert first["probe"]["layers"][0]["node"] == "fc1"
    assert second["error"] == {"code": "load", "message": "truncated"} and second["probe"] is None
