"""PyTorch files told apart by content: torch.export, TorchScript, or a torch.save pickle.

All three modern forms are zip archives under one top folder; their entries differ:
- torch.export (`.pt2`): `<top>/archive_format` and `<top>/models/*.json`;
- TorchScript (`torch.jit.save`): `<top>/code/...` and `<top>/constants.pkl`;
- torch.save: `<top>/data.pkl` and no code.
Old torch.save files (`_use_new_zipfile_serialization=False`) are a bare pickle stream.
"""
from __future__ import annotations

import zipfile
from pathlib import Path

import torch

from gradlint.errors import ModelLoadError

PT2 = "pt2"
TORCHSCRIPT = "torchscript"
PICKLE = "pickle"

# Pickle protocol 2+ starts with PROTO (0x80) and the protocol number.
_PICKLE_PROTOCOLS = range(2, 6)


def archive_kind(path: Path) -> str | None:
    """'pt2', 'torchscript', 'pickle', or None when the file is none of these."""
    if zipfile.is_zipfile(path):
        return _zip_kind(path)
    with path.open("rb") as handle:
        head = handle.read(2)
    if len(head) == 2 and head[0] == 0x80 and head[1] in _PICKLE_PROTOCOLS:
        return PICKLE
    return None


def _zip_kind(path: Path) -> str | None:
    try:
        with zipfile.ZipFile(path) as archive:
            entries = [name.split("/", 1)[-1] for name in archive.namelist()]
    except (zipfile.BadZipFile, OSError):
        return None
    if "archive_format" in entries or any(e.startswith("models/") and e.endswith(".json") for e in entries):
        return PT2
    if "constants.pkl" in entries or any(e.startswith("code/") for e in entries):
        return TORCHSCRIPT
    if "data.pkl" in entries:
        return PICKLE
    return None


def load_exported_program(path: Path) -> torch.export.ExportedProgram:
    try:
        return torch.export.load(str(path))
    except Exception as error:  # a corrupt or incompatible archive is a load error
        raise ModelLoadError(f"torch.export.load failed: {_describe(error)}") from error


def load_torchscript(path: Path) -> torch.jit.ScriptModule:
    try:
        return torch.jit.load(str(path), map_location="cpu")
    except Exception as error:  # unknown custom ops, corrupt archives
        raise ModelLoadError(f"torch.jit.load failed: {_describe(error)}") from error


def _describe(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return f"{type(error).__name__}: {lines[0] if lines else ''}"[:300]
