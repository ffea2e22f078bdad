"""load_model: which loader a model argument goes to, and the errors before any loader runs."""
from __future__ import annotations

import sys
import zipfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent / "onnx"))
from onnx_graphs import mlp, save  # noqa: E402

import gradlint.loaders.torch as torch_loader  # noqa: E402
from gradlint.errors import ModelLoadError  # noqa: E402
from gradlint.loaders import is_factory_reference, load_model, model_kind  # noqa: E402
from gradlint.options import AnalysisOptions  # noqa: E402


def test_missing_file(tmp_path: Path) -> None:
    for name in ("absent.onnx", "absent.pt2", "absent"):
        with pytest.raises(ModelLoadError, match="^no such file$"):
            load_model(str(tmp_path / name), AnalysisOptions())


def test_onnx_file_goes_to_the_onnx_loader(tmp_path: Path) -> None:
    loaded = load_model(str(save(mlp(), tmp_path / "m.onnx")), AnalysisOptions())
    assert loaded.format == "onnx" and len(loaded.graph) == 5


def test_zip_named_onnx_is_refused_clearly(tmp_path: Path) -> None:
    path = tmp_path / "model.onnx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("data.pkl", b"x")
    with pytest.raises(ModelLoadError, match="zip archive"):
        load_model(str(path), AnalysisOptions())


@pytest.mark.parametrize(
    ("target", "expected"),
    [("model.py:build", True), ("pkg.models:make_net", True), ("dir/net.py:Factory.create", True),
     ("model.onnx", False), ("C:\\models\\m.onnx", False), ("weird:name:x", False), ("a b:c", False)],
)
def test_factory_references(target: str, expected: bool) -> None:
    assert is_factory_reference(target) is expected


def test_kinds_by_suffix_and_content(tmp_path: Path) -> None:
    (tmp_path / "net.pt2").write_bytes(b"PK\x03\x04")
    assert model_kind(str(tmp_path / "net.pt2")) == "torch"
    (tmp_path / "weights.dat").write_bytes(b"PK\x03\x04rest")
    assert model_kind(str(tmp_path / "weights.dat")) == "torch"
    save(mlp(), tmp_path / "model.proto")
    assert model_kind(str(tmp_path / "model.proto")) == "onnx"
    assert model_kind("pkg.mod:factory") == "torch"


def test_torch_targets_are_delegated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    monkeypatch.setattr(torch_loader, "load_torch", lambda target, options: calls.append(target) or "loaded",
                        raising=False)
    assert load_model("pkg.mod:factory", AnalysisOptions()) == "loaded"
    assert calls == ["pkg.mod:factory"]


def test_missing_torch_loader_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(torch_loader, "load_torch", raising=False)
    with pytest.raises(ModelLoadError, match="PyTorch models are not supported yet"):
        load_model("pkg.mod:factory", AnalysisOptions())
