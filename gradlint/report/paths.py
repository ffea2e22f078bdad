"""Paths as CI tools want them: the file behind a model argument, relative to the workspace."""
from __future__ import annotations

import os
from pathlib import Path


def model_file(target: str) -> str | None:
    """The file a model argument names: `net.onnx` and `models.py:build` do, `pkg.mod:build` not."""
    for path in (target, target.rsplit(":", 1)[0]):
        if path and Path(path).is_file():
            return path
    return None


def relative_posix(path: str, cwd: Path) -> str | None:
    """`path` relative to `cwd` in POSIX form, or None when it lies outside `cwd`."""
    absolute = Path(os.path.abspath(cwd / path))
    try:
        return absolute.relative_to(os.path.abspath(cwd)).as_posix()
    except ValueError:
        return None
