"""The command line's exact outputs and exit codes for a few fixed situations.

Several models on one command line: a failing one does not stop the others, the exit code is
the worst of them, and each failure is one stderr line naming its file.
"""
from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from gradlint.cli import main

EXAMPLES = Path(__file__).resolve().parents[1] / "fixtures" / "examples"
HEALTHY = str(EXAMPLES / "healthy_relu_mlp.onnx")
SIGMOID = str(EXAMPLES / "deep_sigmoid_mlp.onnx")
STATIC_NOTE = ": no probe ran; verdicts rest on static rules alone\n"


def _check(*args: str, cwd: Path | None = None) -> Result:
    runner = CliRunner()
    if cwd is None:
        return runner.invoke(main, ["check", *args])
    with runner.isolated_filesystem(temp_dir=cwd):
        return runner.invoke(main, ["check", *args])


def test_healthy_example_with_probes(tmp_path: Path) -> None:
    result = _check(HEALTHY, "--device", "cpu", cwd=tmp_path)
    assert result.exit_code == 0, result.output
    assert result.stdout == "Found 0 findings (0 errors, 0 warnings, 0 infos) in 1 model.\n"
    assert result.stderr == ""


def test_missing_file_next_to_a_healthy_model(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.onnx")
    result = _check(missing, HEALTHY, "--no-probe", cwd=tmp_path)
    assert result.exit_code == 2
    assert result.stderr == f"{missing}: no such file\n"
    assert result.stdout == (
        f"{HEALTHY}{STATIC_NOTE}"
        "Found 0 findings (0 errors, 0 warnings, 0 infos) in 1 model; 1 could not be analysed.\n"
    )


def test_the_exit_code_is_the_worst_model(tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"\x00\xff" * 32)
    assert _check(HEALTHY, SIGMOID, "--no-probe", cwd=tmp_path).exit_code == 1
    result = _check(SIGMOID, str(garbage), HEALTHY, "--no-probe", cwd=tmp_path)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith(f"{garbage}: ")
    assert SIGMOID in result.stdout and HEALTHY in result.stdout  # both still reported


def test_findings_exit_one_unless_exit_zero(tmp_path: Path) -> None:
    flagged = _check(SIGMOID, "--no-probe", "--select", "GL301", cwd=tmp_path)
    assert flagged.exit_code == 1
    assert flagged.stdout.splitlines()[0].startswith(f"{SIGMOID}:fc0: GL301 [error] 23 sigmoid hidden layers")
    assert flagged.stdout.endswith("Found 1 finding (1 error, 0 warnings, 0 infos) in 1 model.\n")
    assert _check(SIGMOID, "--no-probe", "--select", "GL301", "--exit-zero", cwd=tmp_path).exit_code == 0


def test_fail_on_warning(tmp_path: Path) -> None:
    config = tmp_path / "gradlint.toml"
    config.write_text('[severity]\nGL301 = "warning"\n')
    common = (SIGMOID, "--no-probe", "--select", "GL301", "--config", str(config))
    assert _check(*common, cwd=tmp_path).exit_code == 0  # a warning is below the default --fail-on error
    warned = _check(*common, "--fail-on", "warning", cwd=tmp_path)
    assert warned.exit_code == 1
    assert "GL301 [warning]" in warned.stdout
    assert _check(*common, "--fail-on", "warning", "--exit-zero", cwd=tmp_path).exit_code == 0


def test_json_shape(tmp_path: Path) -> None:
    missing = str(tmp_path / "missing.onnx")
    result = _check(SIGMOID, missing, "--no-probe", "--select", "GL301", "--format", "json", cwd=tmp_path)
    assert result.exit_code == 2
    document = json.loads(result.stdout)
    assert set(document) == {"version", "models", "summary"}
    assert document["summary"] == {"models": 2, "errors": 1, "warnings": 0, "infos": 0}
    flagged, failed = document["models"]
    assert set(flagged) == {"path", "format", "error", "findings", "probe", "static_only"}
    assert (flagged["path"], flagged["format"], flagged["error"], flagged["static_only"]) == (SIGMOID, "onnx", None, True)
    assert [(f["code"], f["severity"], f["node"]) for f in flagged["findings"]] == [("GL301", "error", "fc0")]
    assert failed["error"] == {"code": "load", "message": "no such file"} and failed["findings"] == []
