"""Nothing from a model file runs, nothing outside its folder is read, no connection is opened.

End to end, through the command line or `lint_target`, not the loaders' internals.
"""
from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import onnx
import pytest
import torch
from click.testing import CliRunner, Result
from onnx import TensorProto, helper

from gradlint.api import LintSettings, lint_target
from gradlint.cli import main
from gradlint.options import AnalysisOptions

REPO = Path(__file__).resolve().parents[1]
HEALTHY_ONNX = REPO / "fixtures" / "examples" / "healthy_relu_mlp.onnx"


class _WritesAFile:
    """Unpickling this writes `marker`: what a hostile checkpoint would do."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return exec, (f"open({str(self.marker)!r}, 'w').write('pwned')",)


def _check(*args: str) -> Result:
    return CliRunner().invoke(main, ["check", "--no-probe", *args])


@pytest.mark.parametrize("suffix", [".pt", ".pth", ".pkl"])
def test_a_malicious_pickle_is_refused_and_never_runs(tmp_path: Path, suffix: str) -> None:
    marker = tmp_path / "pwned.txt"
    model = tmp_path / f"model{suffix}"
    torch.save(_WritesAFile(marker), model, _use_new_zipfile_serialization=suffix != ".pkl")
    result = _check(str(model))
    assert result.exit_code == 2
    assert "refusing to unpickle" in result.stderr and "--trust-pickle" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not marker.exists()


def test_a_zip_masquerading_as_a_checkpoint_is_a_clean_error(tmp_path: Path) -> None:
    fake = tmp_path / "model.pt"
    with zipfile.ZipFile(fake, "w") as archive:
        archive.writestr("README.txt", "not a model")
        archive.writestr("model/data.pkl", b"\x80\x04K\x01.")
    onnx_named = tmp_path / "model.onnx"
    onnx_named.write_bytes(fake.read_bytes())
    result = _check(str(fake), str(onnx_named))
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert [line.split(": ")[0] for line in lines] == [str(fake), str(onnx_named)]
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr


_CUSTOM_OP_SCRIPT = textwrap.dedent(
    """
    import sys, torch

    @torch.library.custom_op("gradlint_evil::boom", mutates_args=())
    def boom(x: torch.Tensor) -> torch.Tensor:
        return x.clone()

    class Model(torch.nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.ops.gradlint_evil.boom(x) * 2

    torch.jit.save(torch.jit.script(Model()), sys.argv[1])
    """
)


def test_torchscript_with_an_unknown_custom_op_is_a_clean_error(tmp_path: Path) -> None:
    archive = tmp_path / "custom_op.pt"
    script = tmp_path / "build_custom_op.py"  # TorchScript needs the source in a file
    script.write_text(_CUSTOM_OP_SCRIPT)
    built = subprocess.run([sys.executable, str(script), str(archive)],
                           capture_output=True, text=True, timeout=120)
    if built.returncode != 0 or not archive.exists():
        pytest.skip(f"could not build a TorchScript archive with a custom op: {built.stderr[-300:]}")
    result = _check(str(archive))  # this process never registered gradlint_evil::boom
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(str(archive) + ": ")
    assert "internal error" not in lines[0]


def _model_with_external_weight(folder: Path, location: str) -> Path:
    weight = onnx.TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[4])
    weight.data_location = TensorProto.EXTERNAL
    weight.external_data.add(key="location", value=location)
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "w"], ["y"])], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])], initializer=[weight],
    )
    path = folder / "model.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


@pytest.mark.parametrize("how", ["absolute", "parent", "symlink"])
def test_external_data_outside_the_model_folder_is_refused(tmp_path: Path, how: str) -> None:
    secret = tmp_path / "secret.bin"
    secret.write_bytes(b"\x00" * 16)
    folder = tmp_path / "models"
    folder.mkdir()
    location = {"absolute": str(secret), "parent": "../secret.bin", "symlink": "link.bin"}[how]
    if how == "symlink":
        (folder / "link.bin").symlink_to(secret)
    report = lint_target(str(_model_with_external_weight(folder, location)), LintSettings())
    assert report.error is not None and report.error.code == "unsafe", report.error
    assert location in report.error.message


def test_no_network_connection_during_a_full_lint(monkeypatch: pytest.MonkeyPatch) -> None:
    attempts: list[object] = []

    def refuse(*args: object, **kwargs: object) -> None:
        attempts.append(args)
        raise OSError("gradlint must not open network connections")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    settings = LintSettings(options=AnalysisOptions(device="cpu"))
    targets = [str(HEALTHY_ONNX), f"{REPO / 'fixtures' / 'torch_factories' / 'hf_bert.py'}:build"]
    reports = [lint_target(target, settings) for target in targets]
    assert attempts == []
    assert [report.error for report in reports] == [None, None]
    assert all(report.probe is not None for report in reports)
