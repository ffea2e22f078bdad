"""read_onnx on bad inputs: each refused with the right error type and a message naming the cause."""
from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import helper
from onnx_graphs import float_input, mlp, model, save

from gradlint.errors import ModelLoadError, UnsafeModelError
from gradlint.loaders.onnx.reader import read_onnx, read_onnx_checked


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def _error(path: Path) -> ModelLoadError:
    with pytest.raises(ModelLoadError) as caught:
        read_onnx(path)
    message = caught.value.message
    assert "\n" not in message and str(path) not in message  # one line; the CLI adds the path
    return caught.value


def test_missing_path(tmp_path: Path) -> None:
    assert _error(tmp_path / "absent.onnx").message == "no such file"


def test_directory(tmp_path: Path) -> None:
    folder = tmp_path / "model.onnx"
    folder.mkdir()
    assert "directory" in _error(folder).message


def test_empty_file(tmp_path: Path) -> None:
    assert _error(_write(tmp_path / "m.onnx", b"")).message == "file is empty"


@pytest.mark.parametrize(
    "data",
    [b"\xff" * 64, b"hello, this is not a model\n" * 4, np.random.default_rng(0).bytes(512)],
    ids=["invalid-tags", "text", "random"],
)
def test_garbage_bytes(tmp_path: Path, data: bytes) -> None:
    error = _error(_write(tmp_path / "m.onnx", data))
    assert type(error) is ModelLoadError and "not an ONNX model" in error.message


def test_truncated_model(tmp_path: Path) -> None:
    data = mlp().SerializeToString()
    error = _error(_write(tmp_path / "m.onnx", data[: len(data) // 2]))
    assert "truncated or corrupt" in error.message


def test_zip_named_onnx(tmp_path: Path) -> None:
    path = tmp_path / "checkpoint.onnx"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", b"payload")
    error = _error(path)
    assert type(error) is ModelLoadError and "zip archive" in error.message


def test_pickle_named_onnx_is_refused_as_unsafe(tmp_path: Path) -> None:
    path = _write(tmp_path / "weights.onnx", pickle.dumps({"weight": [1.0, 2.0]}, protocol=4))
    error = _error(path)
    assert isinstance(error, UnsafeModelError) and "pickle" in error.message


def test_protobuf_without_graph(tmp_path: Path) -> None:
    path = _write(tmp_path / "m.onnx", onnx.ModelProto(ir_version=8).SerializeToString())
    assert "no graph" in _error(path).message


def test_graph_without_nodes(tmp_path: Path) -> None:
    empty = model([], [float_input("x", [1])], [float_input("x", [1])])
    assert "no nodes" in _error(save(empty, tmp_path / "m.onnx")).message


def test_output_never_produced(tmp_path: Path) -> None:
    broken = model([helper.make_node("Relu", ["x"], ["y"])], [float_input("x", [2])], ["z"])
    assert "'z' is never produced" in _error(save(broken, tmp_path / "m.onnx")).message


def _external_model(folder: Path) -> Path:
    """An MLP whose weights live in weights.bin next to it."""
    path = folder / "model.onnx"
    onnx.save_model(mlp(), str(path), save_as_external_data=True, all_tensors_to_one_file=True,
                    location="weights.bin", size_threshold=0)
    return path


def _point_weights_at(path: Path, location: str) -> None:
    proto = onnx.load(str(path), load_external_data=False)
    for initializer in proto.graph.initializer:
        for entry in initializer.external_data:
            if entry.key == "location":
                entry.value = location
    onnx.save_model(proto, str(path))


def test_external_data_inside_folder_loads(tmp_path: Path) -> None:
    loaded = read_onnx(_external_model(tmp_path))
    weights = {t.name: onnx.numpy_helper.to_array(t) for t in loaded.graph.initializer}
    expected = {t.name: onnx.numpy_helper.to_array(t) for t in mlp().graph.initializer}
    assert weights.keys() == expected.keys()
    assert all(np.array_equal(weights[name], expected[name]) for name in expected)


@pytest.mark.parametrize("location", ["/etc/passwd", "../weights.bin", "sub/../../weights.bin"])
def test_external_data_escaping_folder_is_unsafe(tmp_path: Path, location: str) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    path = _external_model(folder)
    (tmp_path / "weights.bin").write_bytes((folder / "weights.bin").read_bytes())
    _point_weights_at(path, location)
    error = _error(path)
    assert isinstance(error, UnsafeModelError) and location in error.message


def test_external_data_symlink_out_of_folder_is_unsafe(tmp_path: Path) -> None:
    folder = tmp_path / "model"
    folder.mkdir()
    path = _external_model(folder)
    outside = tmp_path / "secret.bin"
    outside.write_bytes((folder / "weights.bin").read_bytes())
    os.symlink(outside, folder / "link.bin")
    _point_weights_at(path, "link.bin")
    error = _error(path)
    assert isinstance(error, UnsafeModelError) and "resolves outside" in error.message


def test_missing_external_data_file(tmp_path: Path) -> None:
    path = _external_model(tmp_path)
    (tmp_path / "weights.bin").unlink()
    error = _error(path)
    assert type(error) is ModelLoadError and "'weights.bin' is missing" in error.message


def test_valid_model_reads_with_no_diagnostics(tmp_path: Path) -> None:
    result = read_onnx_checked(save(mlp(), tmp_path / "m.onnx"))
    assert result.diagnostics == ()
    assert result.input_names == ("x",)
    assert {node.name for node in result.model.graph.node} >= {"/fc0/Gemm", "/fc2/Gemm"}
