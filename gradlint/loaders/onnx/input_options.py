"""Parse the command line's input options into `InputOverrides`.

`--input-shape NAME=2x3x224x224` (or just `2x3x224x224` for a single-input model),
`--input-value NAME=16000`, `--input-dtype NAME=int64`. The last `=` separates the name, so
input names containing `=` still work.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch

from gradlint.errors import UsageError
from gradlint.options import InputOverrides, parse_dtype

SOLE_INPUT = ""


def parse_dims(text: str) -> tuple[int, ...]:
    """'2x3x224x224' -> (2, 3, 224, 224); every dim a positive integer."""
    cleaned = text.strip().lower().replace("×", "x")
    if not cleaned:
        raise UsageError("empty shape: give dims like 2x3x224x224")
    dims: list[int] = []
    for part in cleaned.split("x"):
        part = part.strip()
        if not part.isdigit() or int(part) <= 0:
            raise UsageError(
                f"bad shape {text!r}: dims must be positive integers joined by 'x' (2x3x224x224)"
            )
        dims.append(int(part))
    return tuple(dims)


def parse_input_options(
    shapes: Sequence[str], values: Sequence[str], dtypes: Sequence[str]
) -> InputOverrides:
    return InputOverrides(
        shapes={name: parse_dims(dims) for name, dims in _pairs(shapes, "--input-shape")},
        values={name: _number(text, name) for name, text in _pairs(values, "--input-value")},
        dtypes={name: _dtype(text, name) for name, text in _pairs(dtypes, "--input-dtype")},
    )


def _pairs(items: Sequence[str], option: str) -> list[tuple[str, str]]:
    pairs: list[tuple[str, str]] = []
    for item in items:
        name, sep, value = item.rpartition("=")
        if sep and not name:
            raise UsageError(f"{option} {item!r}: the input name before '=' is empty")
        if sep and not value.strip():
            raise UsageError(f"{option} {item!r}: nothing after '='")
        pairs.append((name.strip() if sep else SOLE_INPUT, value.strip()))
    return pairs


def _number(text: str, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"--input-value {name or text}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise UsageError(f"--input-value {name}: {text!r} is not a finite number")
    return value


def _dtype(text: str, name: str) -> torch.dtype:
    try:
        return parse_dtype(text)
    except ValueError as error:
        raise UsageError(f"--input-dtype {name}: {error}") from None
