"""Fuzz the ONNX path (reader, graph building, executor, parity) through `lint_target`.

Every case must end in a report or one clean exit-2 line within a time bound; an
"internal error" is a bug. Profiles: see conftest.py (GRADLINT_FUZZ=long for a campaign).
"""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from gradlint.cli import main
from harness import lint_bytes, real_models
from nonsense_graphs import nonsense_models

LONG = os.environ.get("GRADLINT_FUZZ") == "long"
# CI mutates the small models only: each mutated case re-reads and may re-run the model.
MUTATED = real_models(None if LONG else 300_000)
ONNX_MAGIC_PREFIXES = (b"", b"\x08\x07\x12", b"\x08\x08\x3a\x00", b"PK\x03\x04", b"\x80\x04")


@given(prefix=st.sampled_from(ONNX_MAGIC_PREFIXES), body=st.binary(max_size=4096))
def test_random_bytes(prefix: bytes, body: bytes) -> None:
    lint_bytes(prefix + body)


@given(index=st.integers(0, len(MUTATED) - 1), fraction=st.floats(0.0, 1.0, exclude_max=True))
def test_truncated_real_model(index: int, fraction: float) -> None:
    data = MUTATED[index].read_bytes()
    lint_bytes(data[: int(len(data) * fraction)])


@given(index=st.integers(0, len(MUTATED) - 1), flips=st.lists(st.floats(0.0, 1.0, exclude_max=True),
                                                              min_size=1, max_size=8),
       bit=st.integers(0, 7))
def test_bit_flipped_real_model(index: int, flips: list[float], bit: int) -> None:
    data = bytearray(MUTATED[index].read_bytes())
    for where in flips:
        data[int(len(data) * where)] ^= 1 << bit
    lint_bytes(bytes(data))


@given(model=nonsense_models())
def test_nonsense_graph_static_and_parity(model) -> None:
    lint_bytes(model.SerializeToString())


@settings(max_examples=40 if LONG else 4)
@given(model=nonsense_models())
def test_nonsense_graph_with_probes(model) -> None:
    lint_bytes(model.SerializeToString(), probe=True)


def test_mutated_models_exist() -> None:
    if not MUTATED:
        pytest.skip("no ONNX models to mutate (fixtures/examples and ../shared/models absent)")
    if not any("shared" in str(path) for path in MUTATED):
        pytest.skip("../shared/models absent: mutating the bundled examples only")


def test_cli_reports_each_broken_file_on_one_line_and_goes_on() -> None:
    """Through the real command line: broken files fail alone, the healthy model is reported."""
    healthy = next(path for path in real_models() if path.name == "healthy_relu_mlp.onnx")
    data = healthy.read_bytes()
    broken = {
        "garbage.onnx": b"\x00\xff" * 64,
        "truncated.onnx": data[: len(data) // 3],
        "nonsense.onnx": nonsense_models().example().SerializeToString(),
    }
    with tempfile.TemporaryDirectory() as folder:
        paths = []
        for name, content in broken.items():
            (Path(folder) / name).write_bytes(content)
            paths.append(str(Path(folder) / name))
        result = CliRunner().invoke(main, ["check", *paths, str(healthy), "--no-probe", "--format", "json"])
    assert result.exit_code in (0, 1, 2), result.output
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert all(any(line.startswith(path + ": ") for path in paths) for line in lines), lines
    assert any(line.startswith(paths[0] + ": ") for line in lines)  # garbage always fails
    assert str(healthy) in result.stdout
