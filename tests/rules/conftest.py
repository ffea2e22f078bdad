"""Fixtures for the rule tests: a session folder for ONNX exports of fixture models."""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Callable, Iterator

import pytest

from static_lint import export_onnx


@pytest.fixture(scope="session")
def onnx_of() -> Iterator[Callable[..., str]]:
    """`onnx_of(source, name, training=False)`: the path of the exported model, made once.

    A private temporary folder rather than tmp_path_factory's: pytest prunes old basetemps
    of the same user, which removes files under a concurrently running session.
    """
    with tempfile.TemporaryDirectory(prefix="gradlint-rule-exports-") as folder:
        yield lambda source, name, training=False: export_onnx(source, name, Path(folder), training)
