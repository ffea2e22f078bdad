"""check_location: the path rules for external tensor data."""
from __future__ import annotations

from pathlib import Path

import pytest

from gradlint.errors import ModelLoadError, UnsafeModelError
from gradlint.loaders.onnx.external_data import check_location


@pytest.mark.parametrize("location", ["/abs/w.bin", "C:\\\\w.bin", "C:w.bin", "\\\\server\\share\\w.bin", "~/w.bin"])
def test_absolute_locations_are_unsafe(tmp_path: Path, location: str) -> None:
    with pytest.raises(UnsafeModelError, match="absolute"):
        check_location(location, tmp_path)


@pytest.mark.parametrize("location", ["../w.bin", "a/../../w.bin", "a\\..\\..\\w.bin"])
def test_parent_references_are_unsafe(tmp_path: Path, location: str) -> None:
    with pytest.raises(UnsafeModelError, match="leaves the model's folder"):
        check_location(location, tmp_path)


def test_file_in_a_subfolder_is_fine(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "w.bin").write_bytes(b"\0" * 8)
    assert check_location("data/w.bin", tmp_path) == (tmp_path / "data" / "w.bin").resolve()


def test_missing_file_is_a_load_error_not_unsafe(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError) as caught:
        check_location("w.bin", tmp_path)
    assert type(caught.value) is ModelLoadError and "missing" in caught.value.message
