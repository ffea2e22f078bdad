"""Python factories: `file.py:build` and `package.module:build`."""
from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import torch

from gradlint.errors import ModelLoadError
from gradlint.loaders.torch.factory import call_factory, parse_factory_target
from torch_models import SMALL_CNN


@pytest.mark.parametrize(
    ("target", "reference", "attribute", "is_file"),
    [
        ("models/net.py:build", "models/net.py", "build", True),
        ("pkg.models:make_model", "pkg.models", "make_model", False),
        ("pkg.models:Builder.create", "pkg.models", "Builder.create", False),
    ],
)
def test_factory_targets_are_parsed(target: str, reference: str, attribute: str, is_file: bool) -> None:
    parsed = parse_factory_target(target)
    assert parsed is not None
    assert (parsed.reference, parsed.attribute, parsed.is_file) == (reference, attribute, is_file)


@pytest.mark.parametrize("target", ["model.onnx", "model.pt2", r"C:\models\net.pt", "a-b:c", "x.py:"])
def test_other_targets_are_not_factories(target: str) -> None:
    assert parse_factory_target(target) is None


def test_file_factory_returns_module_and_example() -> None:
    module, example = call_factory(parse_factory_target(f"{SMALL_CNN}:build"))
    assert isinstance(module, torch.nn.Module)
    assert isinstance(example, torch.Tensor) and example.shape == (2, 3, 8, 8)


def test_file_factory_imports_its_siblings(tmp_path: Path) -> None:
    (tmp_path / "layers.py").write_text("import torch\nWIDTH = 5\n")
    (tmp_path / "net.py").write_text(textwrap.dedent("""
        import torch
        from layers import WIDTH

        def build():
            return torch.nn.Linear(WIDTH, 2)
    """))
    module, example = call_factory(parse_factory_target(f"{tmp_path / 'net.py'}:build"))
    assert module.in_features == 5 and example is None


def test_package_module_factory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "gl_test_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "models.py").write_text(textwrap.dedent("""
        import torch

        def build():
            return torch.nn.Sequential(torch.nn.Linear(3, 4)), {"input": torch.zeros(2, 3)}
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    module, example = call_factory(parse_factory_target("gl_test_pkg.models:build"))
    assert isinstance(module, torch.nn.Sequential) and set(example) == {"input"}


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("def build():\n    raise RuntimeError('no GPU here')\n", "raised RuntimeError: no GPU here"),
        ("def build():\n    return 42\n", "returned int"),
        ("build = 3\n", "not a callable"),
        ("import not_a_module_gl\n", "importing"),
        ("x = 1\n", "no attribute 'build'"),
    ],
)
def test_factory_problems_are_load_errors(tmp_path: Path, source: str, message: str) -> None:
    path = tmp_path / "broken.py"
    path.write_text(source)
    with pytest.raises(ModelLoadError, match=message):
        call_factory(parse_factory_target(f"{path}:build"))


def test_missing_factory_file_and_module() -> None:
    with pytest.raises(ModelLoadError, match="not found"):
        call_factory(parse_factory_target("no/such/file.py:build"))
    with pytest.raises(ModelLoadError, match="no Python module named"):
        call_factory(parse_factory_target("gl_no_such_package.models:build"))
