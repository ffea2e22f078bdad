"""Pick the loader for a model argument.

`*.onnx` -> the ONNX loader. `.pt2`, `.pt`/`.pth`/TorchScript archives, `file.py:factory` and
`package.module:factory` -> the PyTorch loader. A file with another suffix is sniffed: zip
archives and pickles go to the PyTorch loader, anything else is tried as ONNX.
"""
from __future__ import annotations

import re
from pathlib import Path

from gradlint.errors import ModelLoadError
from gradlint.model import LoadedModel
from gradlint.options import AnalysisOptions

ONNX_SUFFIXES = (".onnx",)
TORCH_SUFFIXES = (".pt2", ".pt", ".pth", ".ts", ".torchscript", ".jit", ".pkl", ".bin")
# `path/to/file.py:factory` or `package.module:factory` (a Windows drive `C:\` is not one).
_FACTORY = re.compile(r"^(?P<module>[^:]+):(?P<attr>[A-Za-z_][A-Za-z0-9_.]*)$")


def load_model(target: str, options: AnalysisOptions) -> LoadedModel:
    kind = model_kind(target)
    if kind == "onnx":
        from gradlint.loaders.onnx import load_onnx

        return load_onnx(target, options)
    return _load_torch(target, options)


def model_kind(target: str) -> str:
    """'onnx' or 'torch' for a model argument; ModelLoadError for a missing file."""
    if is_factory_reference(target):
        return "torch"
    path = Path(target)
    if not path.exists():
        raise ModelLoadError("no such file")
    suffix = path.suffix.lower()
    if suffix in ONNX_SUFFIXES:
        return "onnx"  # the reader refuses zips and pickles named .onnx with a clear message
    if suffix in TORCH_SUFFIXES or path.is_dir():
        return "torch"
    from gradlint.loaders import sniff

    return "torch" if sniff.sniff_file(path) in (sniff.ZIP, sniff.PICKLE) else "onnx"


def is_factory_reference(target: str) -> bool:
    match = _FACTORY.match(target)
    if match is None or re.match(r"^[A-Za-z]:[\\/]", target):
        return False
    module = match.group("module")
    return module.endswith(".py") or re.fullmatch(r"[A-Za-z_][A-Za-z0-9_.]*", module) is not None


def _load_torch(target: str, options: AnalysisOptions) -> LoadedModel:
    try:
        from gradlint.loaders.torch import load_torch
    except ImportError:
        raise ModelLoadError("PyTorch models are not supported yet") from None
    return load_torch(target, options)
