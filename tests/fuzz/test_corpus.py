"""Replay the regression corpus: code-built cases and the files in corpus/, every run."""
from __future__ import annotations

from pathlib import Path

import pytest

from corpus_cases import CASES
from harness import lint_bytes, lint_file

CORPUS = Path(__file__).resolve().parent / "corpus"


@pytest.mark.parametrize("name", sorted(CASES))
def test_code_built_case(name: str) -> None:
    lint_bytes(CASES[name]())


def test_corpus_files() -> None:
    """Files are for cases too big to build in code; none so far is."""
    for path in sorted(CORPUS.glob("*.onnx")):
        lint_file(path)
