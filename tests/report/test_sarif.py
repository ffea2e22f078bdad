from __future__ import annotations

import json
from pathlib import Path

import pytest
from sample_reports import finding, sample_report

from gradlint.findings import Location, Severity
from gradlint.registry import rule_table
from gradlint.report.results import ModelReport, Report
from gradlint.report.sarif import render_sarif

SCHEMA = Path(__file__).resolve().parents[2].parent / "shared" / "schemas" / "sarif-schema-2.1.0.json"


@pytest.fixture
def sarif(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict:
    monkeypatch.chdir(tmp_path)
    return json.loads(render_sarif(sample_report(tmp_path), cwd=tmp_path))


def test_output_is_valid_sarif_2_1_0(sarif: dict) -> None:
    if not SCHEMA.is_file():
        pytest.skip(f"the official SARIF schema copy is absent ({SCHEMA})")
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA.read_text())
    validator = jsonschema.Draft4Validator(schema)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(sarif)]
    assert errors == []


def test_driver_lists_every_rule_with_its_documentation(sarif: dict) -> None:
    driver = sarif["runs"][0]["tool"]["driver"]
    table = rule_table()
    assert [rule["id"] for rule in driver["rules"]] == list(table)
    for descriptor in driver["rules"]:
        rule = table[descriptor["id"]]
        assert descriptor["name"] == rule.name
        assert descriptor["shortDescription"]["text"] == rule.summary
        assert descriptor["help"]["markdown"] == rule.doc.strip()
        assert "## How to fix" in descriptor["fullDescription"]["text"]
        assert descriptor["properties"]["category"] == rule.category.value


def test_results_point_at_their_rule_level_and_layer(sarif: dict) -> None:
    run = sarif["runs"][0]
    results = run["results"]
    assert [r["ruleId"] for r in results] == ["GL901", "GL903", "GL902"]
    assert [r["level"] for r in results] == ["error", "note", "warning"]
    for result in results:
        assert run["tool"]["driver"]["rules"][result["ruleIndex"]]["id"] == result["ruleId"]
    logical = results[0]["locations"][0]["logicalLocations"][0]
    assert (logical["name"], logical["kind"]) == ("fc3", "member")
    assert results[0]["message"]["text"].startswith("fc3: ")


def test_model_file_uri_is_relative_and_source_lines_become_regions(sarif: dict) -> None:
    run = sarif["runs"][0]
    onnx_location = run["results"][0]["locations"][0]["physicalLocation"]
    assert onnx_location["artifactLocation"] == {"uri": "models/deep%20net.onnx", "uriBaseId": "%SRCROOT%"}
    assert "region" not in onnx_location
    # A finding without a location of its own falls back to the model file.
    assert run["results"][1]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "models/deep%20net.onnx"
    source_location = run["results"][2]["locations"][0]["physicalLocation"]
    assert source_location["artifactLocation"]["uri"] == "models.py"
    assert source_location["region"] == {"startLine": 12}
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"].endswith("/")


def test_file_outside_the_working_directory_gets_an_absolute_uri(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere" / "net.py"
    report = Report((ModelReport("net.py:build", "python", (finding("GL902", "fc", Severity.ERROR, Location(str(outside), 3)),)),))
    log = json.loads(render_sarif(report, cwd=tmp_path / "work"))
    location = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": outside.as_uri()}
    assert location["region"] == {"startLine": 3}


def test_a_model_that_failed_to_load_is_an_unsuccessful_invocation(sarif: dict) -> None:
    invocation = sarif["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    [notification] = invocation["toolExecutionNotifications"]
    assert notification["level"] == "error"
    assert notification["message"]["text"] == "broken.onnx: not an ONNX model"


def test_fingerprints_are_stable_and_distinct(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    first = json.loads(render_sarif(sample_report(tmp_path), cwd=tmp_path))["runs"][0]["results"]
    second = json.loads(render_sarif(sample_report(tmp_path), cwd=tmp_path))["runs"][0]["results"]
    prints = [r["partialFingerprints"] for r in first]
    assert prints == [r["partialFingerprints"] for r in second]
    assert len({json.dumps(p) for p in prints}) == len(prints)
