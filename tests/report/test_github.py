from __future__ import annotations

from pathlib import Path

import pytest
from sample_reports import finding, sample_report

from gradlint.findings import Location, Severity
from gradlint.report.github import escape_data, escape_property, render_github, workflow_command
from gradlint.report.results import ModelReport, Report


def test_data_escapes_percent_first_then_newlines() -> None:
    assert escape_data("100%\r\nnext") == "100%25%0D%0Anext"
    assert escape_data("%0A") == "%250A"  # a literal "%0A" must not turn into a newline
    assert escape_data("a: b, c") == "a: b, c"  # colons and commas are fine in the message


def test_properties_also_escape_colon_and_comma() -> None:
    assert escape_property("models.py:build,v2%") == "models.py%3Abuild%2Cv2%25"


def test_command_skips_missing_properties() -> None:
    assert workflow_command("notice", {"file": None, "title": "t"}, "m") == "::notice title=t::m"
    assert workflow_command("error", {}, "m") == "::error::m"


def test_annotations_per_finding(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    lines = render_github(sample_report(tmp_path), cwd=tmp_path).splitlines()
    assert lines[0] == (
        "::error file=models/deep net.onnx,title=gradlint (GL901)::"
        "fc3: gain 1e-7 over 12 layers [some-rule]%0Afix: use He init"
    )
    assert lines[1].startswith("::notice file=models/deep net.onnx,title=gradlint (GL903)::gain")
    assert lines[2].startswith("::warning file=models.py,line=12,title=gradlint (GL902)::encoder.0: ")
    assert lines[3] == "::error title=gradlint (could not analyse)::broken.onnx: not an ONNX model"
    assert lines[4].startswith("Found 3 findings")


def test_hostile_text_cannot_inject_a_second_command(tmp_path: Path) -> None:
    evil = finding("GL902", "a,b:c", Severity.ERROR, Location("x.onnx"), message="ok\n::error::fake%")
    report = Report((ModelReport("x.onnx", "onnx", (evil,)),))
    # One line: the injected "::error::" stays inside this annotation's message.
    [annotation, _summary] = render_github(report, cwd=tmp_path).splitlines()
    assert annotation.endswith("a,b:c: ok%0A::error::fake%25 [some-rule]%0Afix: use He init")
