from __future__ import annotations

from pathlib import Path

import pytest

from gradlint.config import find_config, load_config
from gradlint.errors import UsageError
from gradlint.findings import Severity
from gradlint.settings import build_settings

PYPROJECT = """
[project]
name = "demo"

[tool.gradlint]
select = ["GL4", "GL9"]
ignore = ["GL903"]
fail-on = "warning"
seed = 7
[tool.gradlint.severity]
GL906 = "info"
[tool.gradlint.per-layer-ignores]
"encoder.*" = ["GL4"]
[tool.gradlint.thresholds]
GL902 = { tolerance = 1e-3 }
[tool.gradlint.inputs."models/vad*.onnx"]
shape = ["input=1x512"]
value = ["sr=16000"]
"""


def test_nearest_pyproject_with_a_gradlint_table_is_found(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    (tmp_path / "a" / "pyproject.toml").write_text("[project]\nname='x'\n")  # no table: skipped
    assert find_config(nested) == tmp_path / "pyproject.toml"


def test_file_settings_reach_policy_options_and_inputs(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    settings = build_settings({}, cwd=tmp_path)
    assert settings.policy.select == ("GL4", "GL9")
    assert settings.policy.fail_on is Severity.WARNING
    assert settings.policy.severity_overrides == {"GL906": Severity.INFO}
    assert settings.options.seed == 7
    assert settings.thresholds["GL902"]["tolerance"] == 1e-3
    vad = settings.options_for("models/vad_v5.onnx").inputs
    assert vad.shapes == {"input": (1, 512)} and vad.values == {"sr": 16000.0}
    assert settings.options_for("other.onnx").inputs.shapes == {}


def test_command_line_overrides_file(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(PYPROJECT)
    settings = build_settings(
        {"select": ("GL1,GL2",), "seed": 3, "fail_on": "error", "input_shapes": ("input=1x256",)},
        cwd=tmp_path,
    )
    assert settings.policy.select == ("GL1", "GL2")
    assert settings.options.seed == 3
    assert settings.policy.fail_on is Severity.ERROR
    assert settings.options_for("models/vad.onnx").inputs.shapes == {"input": (1, 256)}


@pytest.mark.parametrize(
    "body, cause",
    [
        ("[tool.gradlint]\nselekt = ['GL']\n", "unknown key"),
        ("[tool.gradlint]\nselect = 'GL'\n", "list of strings"),
        ("[tool.gradlint]\n[tool.gradlint.severity]\nGL1 = 'fatal'\n", "unknown severity"),
        ("[tool.gradlint\n", "cannot read"),
    ],
)
def test_bad_configuration_is_a_usage_error(tmp_path: Path, body: str, cause: str) -> None:
    config_path = tmp_path / "pyproject.toml"
    config_path.write_text(body)
    with pytest.raises(UsageError, match=cause):
        load_config(config_path)


def test_gradlint_toml_holds_the_table_at_top_level(tmp_path: Path) -> None:
    (tmp_path / "gradlint.toml").write_text("ignore = ['GL905']\n")
    config = load_config(find_config(tmp_path))
    assert config.lists["ignore"] == ("GL905",)
