"""Read an ONNX file defensively: every bad input becomes a one-line error naming its cause.

Order matters: the file is sniffed before the protobuf parser sees it (zip archives and
pickles renamed `.onnx` get a clear refusal), parsed without external data, checked to be a
model, and only then are external-data locations validated and read. The parsed model is
normalized (names, real inputs, shapes) and trailing post-processing is cut off.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import onnx

from gradlint.errors import ModelLoadError, UnsafeModelError
from gradlint.loaders import sniff
from gradlint.loaders.onnx.external_data import load_external_data
from gradlint.loaders.onnx.node_check import check_node_arity
from gradlint.loaders.onnx.normalize import normalize, real_input_names
from gradlint.loaders.onnx.postprocess import cut_postprocessing
from gradlint.loaders.onnx.tensor_check import check_tensor_data
from gradlint.model import Diagnostic


@dataclass(frozen=True)
class ReadResult:
    """A model ready for analysis, and what reading it noticed."""

    model: onnx.ModelProto
    diagnostics: tuple[Diagnostic, ...] = ()

    @property
    def input_names(self) -> tuple[str, ...]:
        return real_input_names(self.model)


def read_onnx(path: str | Path) -> onnx.ModelProto:
    """The model at `path`, validated and normalized (see `read_onnx_checked`)."""
    return read_onnx_checked(path).model


def read_onnx_checked(path: str | Path) -> ReadResult:
    """Read, validate, normalize; raise ModelLoadError / UnsafeModelError on bad input."""
    file = Path(path)
    model = parse_model_file(file)
    load_external_data(model, file.parent)
    check_tensor_data(model)
    check_node_arity(model)
    model, notes = normalize(model)
    cut = cut_postprocessing(model)
    return ReadResult(model, notes + cut)


def parse_model_file(file: Path) -> onnx.ModelProto:
    """The ModelProto in `file`, external data not loaded; a clear error when it is not one."""
    check_readable_file(file)
    kind = sniff.sniff_file(file)
    if kind == sniff.EMPTY:
        raise ModelLoadError("file is empty")
    if kind == sniff.ZIP:
        raise ModelLoadError(
            "file is a zip archive (a PyTorch checkpoint or .pt2?), not an ONNX model"
        )
    if kind == sniff.PICKLE:
        raise UnsafeModelError(
            "file is a Python pickle, not an ONNX model; refusing to unpickle it (that runs code)"
        )
    try:
        model = onnx.load(str(file), load_external_data=False)
    except Exception:  # protobuf DecodeError, RuntimeError from the C++ parser, ...
        raise ModelLoadError("not an ONNX model: the protobuf is truncated or corrupt") from None
    check_is_model(model)
    return model


def check_readable_file(file: Path) -> None:
    if not file.exists():
        raise ModelLoadError("no such file")
    if file.is_dir():
        raise ModelLoadError("is a directory, not an ONNX file")
    try:
        with file.open("rb"):
            pass
    except OSError as error:
        raise ModelLoadError(f"cannot read the file: {error.strerror or error}") from None


def check_is_model(model: onnx.ModelProto) -> None:
    """A protobuf that parsed but does not describe an ONNX model is refused."""
    if not model.HasField("graph"):
        raise ModelLoadError("not an ONNX model: the protobuf has no graph")
    if not model.graph.node:
        raise ModelLoadError("not an ONNX model: the graph has no nodes")
    if not model.graph.output:
        raise ModelLoadError("not an ONNX model: the graph has no outputs")
    if not model.opset_import and model.ir_version == 0:
        raise ModelLoadError("not an ONNX model: no IR version and no opset")
    produced = {name for node in model.graph.node for name in node.output}
    known = produced | {v.name for v in model.graph.input} | {t.name for t in model.graph.initializer}
    missing = [out.name for out in model.graph.output if out.name not in known]
    if missing:
        raise ModelLoadError(f"malformed ONNX graph: output {missing[0]!r} is never produced")
