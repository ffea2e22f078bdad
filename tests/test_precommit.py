"""The pre-commit hooks, run by the real `pre-commit try-repo`.

The hook repository is a fresh git repository holding a copy of this checkout's
.pre-commit-hooks.yaml, so the test does not depend on the checkout being a git repository,
or on the hooks file being committed (try-repo reads hooks from a commit).
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from integration_models import example_model

ROOT = Path(__file__).resolve().parents[1]
HOOKS_FILE = ROOT / ".pre-commit-hooks.yaml"
GIT = ("git", "-c", "user.name=gradlint tests", "-c", "user.email=tests@gradlint.invalid",
       "-c", "commit.gpgsign=false", "-c", "init.defaultBranch=main")


def _hooks() -> list[dict]:
    yaml = pytest.importorskip("yaml", reason="pre-commit (and its PyYAML) come with the dev extra")
    return yaml.safe_load(HOOKS_FILE.read_text())


def test_both_hooks_match_model_files_only() -> None:
    hooks = {hook["id"]: hook for hook in _hooks()}
    assert {hooks["gradlint"]["language"], hooks["gradlint-system"]["language"]} == {"python", "system"}
    for hook in hooks.values():
        matches = [name for name in ("a.onnx", "m/b.pt2", "c.py", "d.onnx.json", "e.pt") if re.search(hook["files"], name)]
        assert matches == ["a.onnx", "m/b.pt2"]
        assert hook["entry"] == "gradlint"


def _git(*args: str, cwd: Path) -> None:
    subprocess.run([*GIT, *args], cwd=cwd, check=True, capture_output=True)


def _environment(tmp_path: Path) -> dict[str, str]:
    """PATH leads to this environment's gradlint (the system hook runs whatever PATH finds)."""
    scripts = Path(sys.executable).parent
    if not (scripts / "gradlint").exists() and shutil.which("gradlint") is None:
        pytest.skip("the gradlint console script is not installed (pip install -e .)")
    return {
        **os.environ,
        "PATH": f"{scripts}{os.pathsep}{os.environ.get('PATH', '')}",
        "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-cache"),
    }


@pytest.fixture(scope="module")
def hook_repo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("pre_commit", reason="pre-commit comes with the dev extra")
    repo = tmp_path_factory.mktemp("hook-repo")
    shutil.copy(HOOKS_FILE, repo / ".pre-commit-hooks.yaml")
    _git("init", "-q", cwd=repo)
    _git("add", ".pre-commit-hooks.yaml", cwd=repo)
    _git("commit", "-q", "-m", "hooks", cwd=repo)
    return repo


def _try_repo(hook_repo: Path, project: Path, *files: str) -> subprocess.CompletedProcess[str]:
    _git("init", "-q", cwd=project)
    _git("add", *files, cwd=project)
    return subprocess.run(
        [sys.executable, "-m", "pre_commit", "try-repo", str(hook_repo), "gradlint-system",
         "--files", *files, "--verbose"],
        cwd=project, env=_environment(project), capture_output=True, text=True, timeout=300,
    )


def test_system_hook_fails_on_a_pathological_model(hook_repo: Path, tmp_path: Path) -> None:
    example_model("deep_sigmoid_mlp", tmp_path / "models" / "sigmoid.onnx")
    (tmp_path / "pyproject.toml").write_text('[tool.gradlint]\ndevice = "cpu"\n')
    result = _try_repo(hook_repo, tmp_path, "models/sigmoid.onnx")
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Failed" in result.stdout and "- exit code: 1" in result.stdout
    assert re.search(r"models/sigmoid\.onnx:\S+: GL\d{3} \[error\]", result.stdout), result.stdout


def test_system_hook_passes_a_healthy_model(hook_repo: Path, tmp_path: Path) -> None:
    example_model("healthy_relu_mlp", tmp_path / "models" / "healthy.onnx")
    (tmp_path / "pyproject.toml").write_text('[tool.gradlint]\ndevice = "cpu"\n')
    (tmp_path / "notes.py").write_text("x = 1\n")
    result = _try_repo(hook_repo, tmp_path, "models/healthy.onnx", "notes.py")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Passed" in result.stdout
