"""Options that steer loading and analysis, shared by the CLI, the API and the config file."""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

DEFAULT_SEED = 0
DEFAULT_BATCH_SIZE = 8
DEFAULT_SEQUENCE_LENGTH = 16
# Seconds one model may take (load + analysis + rules); 0 means no bound.
DEFAULT_TIMEOUT_S = 600.0

_DTYPES = {
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
    "float32": torch.float32,
    "float64": torch.float64,
    "int32": torch.int32,
    "int64": torch.int64,
    "bool": torch.bool,
}


def parse_dtype(text: str) -> torch.dtype:
    try:
        return _DTYPES[text.lower()]
    except KeyError:
        raise ValueError(f"unknown dtype {text!r} (choose from {', '.join(_DTYPES)})") from None


@dataclass(frozen=True)
class InputOverrides:
    """What the user said about inputs: shapes, scalar values and dtypes by input name.

    The key "" stands for the sole input of a single-input model (`--input-shape 2x3x224x224`).
    """

    shapes: dict[str, tuple[int, ...]] = field(default_factory=dict, hash=False)
    values: dict[str, float] = field(default_factory=dict, hash=False)
    dtypes: dict[str, torch.dtype] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class AnalysisOptions:
    device: str = "auto"  # auto | cpu | cuda
    seed: int = DEFAULT_SEED
    batch_size: int = DEFAULT_BATCH_SIZE
    sequence_length: int = DEFAULT_SEQUENCE_LENGTH
    norm_stats: str = "batch"  # batch | running
    probe: bool = True
    parity: bool = True
    trust_pickle: bool = False
    timeout: float = DEFAULT_TIMEOUT_S
    inputs: InputOverrides = field(default_factory=InputOverrides)

    def torch_device(self) -> torch.device:
        if self.device == "auto":
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return torch.device(self.device)
