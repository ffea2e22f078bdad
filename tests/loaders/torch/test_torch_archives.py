"""Telling PyTorch files apart by content, and loading archives without tracebacks."""
from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
import torch

from gradlint.errors import ModelLoadError
from gradlint.loaders.torch.archives import (
    PICKLE,
    PT2,
    TORCHSCRIPT,
    archive_kind,
    load_exported_program,
    load_torchscript,
)


@pytest.mark.parametrize(
    ("form", "kind"),
    [("pt2", PT2), ("torchscript", TORCHSCRIPT), ("pickle", PICKLE), ("state_dict", PICKLE)],
)
def test_archive_kind_reads_the_entries(saved_forms: dict[str, Path], form: str, kind: str) -> None:
    assert archive_kind(saved_forms[form]) == kind


def test_legacy_pickle_and_other_files(tmp_path: Path) -> None:
    legacy = tmp_path / "legacy.pt"
    torch.save({"w": torch.ones(2)}, legacy, _use_new_zipfile_serialization=False)
    assert archive_kind(legacy) == PICKLE
    text = tmp_path / "notes.txt"
    text.write_text("hello")
    assert archive_kind(text) is None


def test_a_zip_that_is_not_a_pytorch_archive(tmp_path: Path) -> None:
    path = tmp_path / "model.pt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("model/readme.txt", "not a model")
    assert archive_kind(path) is None


def test_loaded_archives_run(saved_forms: dict[str, Path]) -> None:
    program = load_exported_program(saved_forms["pt2"])
    scripted = load_torchscript(saved_forms["torchscript"])
    x = torch.randn(2, 3, 8, 8)
    assert torch.allclose(program.module()(x), scripted(x), atol=1e-5)


def test_torchscript_with_an_unknown_custom_op(tmp_path: Path) -> None:
    library = torch.library.Library("gradlint_test", "DEF")
    library.define("double(Tensor x) -> Tensor")
    library.impl("double", lambda x: x * 2, "CompositeExplicitAutograd")

    class UsesCustomOp(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.ops.gradlint_test.double(x)

    good = tmp_path / "custom.ts"
    torch.jit.save(torch.jit.script(UsesCustomOp()), good)
    broken = tmp_path / "unknown_op.ts"
    _rename_namespace(good, broken, b"gradlint_test", b"gradlint_gone")
    assert archive_kind(broken) == TORCHSCRIPT
    with pytest.raises(ModelLoadError, match="torch.jit.load failed"):
        load_torchscript(broken)


def test_corrupt_pt2_is_a_load_error(saved_forms: dict[str, Path], tmp_path: Path) -> None:
    broken = tmp_path / "broken.pt2"
    with zipfile.ZipFile(saved_forms["pt2"]) as source, zipfile.ZipFile(broken, "w") as target:
        for item in source.infolist():
            if "/models/" not in item.filename:
                target.writestr(item, source.read(item))
        target.writestr("model/models/model.json", "{not json")
    with pytest.raises(ModelLoadError, match="torch.export.load failed"):
        load_exported_program(broken)


def _rename_namespace(source: Path, target: Path, old: bytes, new: bytes) -> None:
    with zipfile.ZipFile(source) as reader, zipfile.ZipFile(target, "w") as writer:
        for item in reader.infolist():
            data = reader.read(item)
            if "/code/" in item.filename:
                data = data.replace(old, new)
            writer.writestr(item, data)
