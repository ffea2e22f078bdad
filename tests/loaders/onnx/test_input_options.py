"""parse_dims / parse_input_options: the CLI's input options, and their errors."""
from __future__ import annotations

import pytest
import torch

from gradlint.errors import UsageError
from gradlint.loaders.onnx.inputs import parse_dims, parse_input_options


def test_parse_dims() -> None:
    assert parse_dims("2x3x224x224") == (2, 3, 224, 224)
    assert parse_dims(" 1X512 ") == (1, 512)
    assert parse_dims("7") == (7,)


@pytest.mark.parametrize("text", ["", "2x", "2xx3", "2x-3", "2x0", "2.5x3", "axb"])
def test_bad_dims(text: str) -> None:
    with pytest.raises(UsageError, match="shape"):
        parse_dims(text)


def test_named_and_sole_inputs() -> None:
    overrides = parse_input_options(
        ["input=1x512", "2x3", "gpu_0/data_0=1x3x224x224", "odd=name=4"], ["sr=16000"], ["ids=int32"]
    )
    assert overrides.shapes == {"input": (1, 512), "": (2, 3), "gpu_0/data_0": (1, 3, 224, 224), "odd=name": (4,)}
    assert overrides.values == {"sr": 16000.0}
    assert overrides.dtypes == {"ids": torch.int32}


@pytest.mark.parametrize(
    ("shapes", "values", "dtypes", "message"),
    [
        (["=2x3"], [], [], "name before '=' is empty"),
        (["x="], [], [], "nothing after '='"),
        ([], ["sr=fast"], [], "'fast' is not a number"),
        ([], ["sr=inf"], [], "not a finite number"),
        ([], [], ["ids=int128"], "unknown dtype"),
    ],
)
def test_bad_options(shapes: list, values: list, dtypes: list, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_input_options(shapes, values, dtypes)
