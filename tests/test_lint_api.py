from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from integration_models import healthy_model, unsupported_op_model

import gradlint
from gradlint.cli import main
from gradlint.lint_api import settings_from_options


def test_import_gradlint_does_not_import_torch() -> None:
    code = "import sys, gradlint; print('torch' in sys.modules); print(gradlint.lint.__module__)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "gradlint.lint_api"]


def test_lint_reports_what_the_cli_reports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    custom = unsupported_op_model(tmp_path / "custom.onnx")
    report = gradlint.lint(custom, device="cpu")
    cli = CliRunner().invoke(main, [str(custom), "--format", "json", "--device", "cpu"])
    cli_findings = json.loads(cli.stdout)["models"][0]["findings"]
    assert [(f.code, f.node, f.message) for f in report.findings] == [
        (f["code"], f["node"], f["message"]) for f in cli_findings
    ]
    assert "GL901" in {f.code for f in report.findings}


def test_options_select_and_ignore_like_the_cli(tmp_path: Path) -> None:
    custom = unsupported_op_model(tmp_path / "custom.onnx")
    assert gradlint.lint(custom, ignore="GL901", device="cpu").findings == []
    assert gradlint.lint(str(custom), select=["GL9"], probe=False).models[0].error is None


def test_input_options_take_python_values() -> None:
    settings = settings_from_options(input_shapes={"x": (2, 16), "": "4x8"}, input_values={"sr": 16000})
    assert settings.options.inputs.shapes == {"x": (2, 16), "": (4, 8)}
    assert settings.options.inputs.values == {"sr": 16000.0}


def test_misuse_is_a_type_error(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="unknown gradlint option"):
        gradlint.lint("m.onnx", devise="cpu")
    with pytest.raises(TypeError, match="example_inputs only applies"):
        gradlint.lint(healthy_model(tmp_path / "h.onnx"), example_inputs=[1])
    with pytest.raises(TypeError, match="torch.nn.Module"):
        gradlint.lint(42)


def test_in_memory_module() -> None:
    import torch

    torch.manual_seed(0)
    module = torch.nn.Sequential(torch.nn.Linear(16, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))
    report = gradlint.lint(module, torch.randn(4, 16), device="cpu")
    [model] = report.models
    assert model.error is None, model.error
    assert model.path == "<torch.nn.modules.container.Sequential>"
    assert {row["kind"] for row in model.graph_rows} >= {"linear"}
