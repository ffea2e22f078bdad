"""The CLI's CI-facing options end to end on real models: sarif, github, --output-file,
--report, --plot and --baseline."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from integration_models import healthy_model, unsupported_op_model

from gradlint.cli import main


@pytest.fixture
def models(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    monkeypatch.chdir(tmp_path)
    healthy_model(tmp_path / "models" / "healthy.onnx")
    unsupported_op_model(tmp_path / "models" / "custom.onnx")
    return "models/healthy.onnx", "models/custom.onnx"


def _run(*args: str) -> Result:
    return CliRunner().invoke(main, [*args, "--device", "cpu"])


def test_sarif_to_a_file(models: tuple[str, str], tmp_path: Path) -> None:
    result = _run(*models, "--format", "sarif", "-o", "out.sarif")
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    run = json.loads((tmp_path / "out.sarif").read_text())["runs"][0]
    [custom] = [r for r in run["results"] if r["ruleId"] == "GL901"]
    assert custom["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "models/custom.onnx"
    assert custom["level"] == "error"
    assert run["invocations"][0]["executionSuccessful"] is True


def test_github_annotations(models: tuple[str, str]) -> None:
    result = _run(*models, "--format", "github")
    assert result.exit_code == 1
    annotations = [line for line in result.stdout.splitlines() if line.startswith("::")]
    assert any(line.startswith("::error file=models/custom.onnx,title=gradlint (GL901)::") for line in annotations)
    assert not any("healthy.onnx" in line and line.startswith("::error") for line in annotations)


def test_html_report_and_png_plot(models: tuple[str, str], tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="--plot needs the gradlint[report] extra")
    result = _run(*models, "--report", "report.html", "--plot", "profile.png")
    assert result.exit_code == 1, result.output
    page = (tmp_path / "report.html").read_text()
    assert "models/healthy.onnx" in page and "GL901" in page
    assert page.count('class="chart"') >= 2  # the healthy model's probe was plotted
    assert (tmp_path / "profile.png").read_bytes()[:4] == b"\x89PNG"


def test_baseline_adoption(models: tuple[str, str], tmp_path: Path) -> None:
    first = _run(*models, "--baseline", "gradlint-baseline.json")
    assert first.exit_code == 1 and "wrote baseline" in first.stderr
    assert "GL901" in (tmp_path / "gradlint-baseline.json").read_text()
    second = _run(*models, "--baseline", "gradlint-baseline.json")
    assert second.exit_code == 0, second.output
    assert "hidden by baseline" in second.stderr and "GL901" not in second.stdout


def test_update_baseline_needs_a_baseline(models: tuple[str, str]) -> None:
    result = _run(models[0], "--update-baseline")
    assert result.exit_code == 2 and "--update-baseline needs --baseline" in result.stderr


FACTORY = '''import torch
from torch import nn


class Net(nn.Module):
    def __init__(self, depth: int = 12, width: int = 16) -> None:
        super().__init__()
        self.layers = nn.ModuleList(nn.Linear(width, width) for _ in range(depth))

    def forward(self, x):
        for layer in self.layers:
            x = torch.sigmoid(layer(x))
        return x


def build():
    torch.manual_seed(0)
    return Net(), torch.randn(4, 16)
'''


def test_sarif_points_python_models_at_source_lines(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "models.py").write_text(FACTORY)
    result = _run("models.py:build", "--format", "sarif")
    assert result.exit_code == 1, result.output  # 12 sigmoid layers at PyTorch's default init vanish
    located = [
        (location["physicalLocation"]["artifactLocation"]["uri"], location["physicalLocation"]["region"]["startLine"],
         location["logicalLocations"][0]["name"])
        for r in json.loads(result.stdout)["runs"][0]["results"] for location in r["locations"]
        if "region" in location["physicalLocation"]
    ]
    assert located, result.stdout
    for uri, line, layer in located:
        assert uri == "models.py" and 8 <= line <= 12 and layer.startswith("layers.")
