"""Pickled whole modules (`torch.save(model)`): refused unless the user trusts the file.

Unpickling a whole module runs whatever code the file names, so gradlint first reads the file
with `torch.load(weights_only=True)`, which only rebuilds tensors and plain containers and
refuses anything else before calling it. That read tells the cases apart:
- it fails: the file holds Python objects (a pickled module, or worse): refused with
  UnsafeModelError unless `trust_pickle`, then loaded with `weights_only=False`;
- it succeeds with a state dict: weights without an architecture, a factory is needed;
- it succeeds with anything else: not a model.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

import torch

from gradlint.errors import ModelLoadError, UnsafeModelError

REFUSAL = (
    "refusing to unpickle: the file holds pickled Python objects (such as a whole model) and "
    "unpickling runs code from the file; pass --trust-pickle if you trust its source"
)
STATE_DICT = (
    "the file holds a state dict (weights without the architecture); write a factory "
    "`model.py:build` that builds the model and loads these weights, and lint that"
)


def load_pickled_module(path: Path, trust_pickle: bool) -> torch.nn.Module:
    try:
        content = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as error:
        if not _refused_global(error):
            raise ModelLoadError(f"torch.load failed: {_describe(error)}") from error
        if not trust_pickle:
            raise UnsafeModelError(REFUSAL) from None
        return _trusted_load(path)
    if _is_state_dict(content):
        raise ModelLoadError(STATE_DICT)
    raise ModelLoadError(f"the file holds a {type(content).__name__}, not a model")


def _trusted_load(path: Path) -> torch.nn.Module:
    try:
        content = torch.load(str(path), map_location="cpu", weights_only=False)
    except Exception as error:  # the pickle's own code raised, or a class is not importable
        raise ModelLoadError(f"unpickling failed: {_describe(error)}") from error
    if not isinstance(content, torch.nn.Module):
        raise ModelLoadError(f"the pickle holds a {type(content).__name__}, not an nn.Module")
    return content


def _refused_global(error: BaseException) -> bool:
    """weights_only loading stopped at a Python object it may not rebuild."""
    import pickle

    return isinstance(error, pickle.UnpicklingError) or "weights_only" in str(error)


def _is_state_dict(content: Any) -> bool:
    """Tensors by name, possibly nested ({"model": {...}, "step": 3} checkpoints)."""
    return isinstance(content, Mapping) and _only_weights(content) and _has_tensor(content)


def _only_weights(value: Any) -> bool:
    if isinstance(value, Mapping):
        return all(isinstance(k, str) and _only_weights(v) for k, v in value.items())
    return isinstance(value, (torch.Tensor, int, float, str)) or value is None


def _has_tensor(value: Any) -> bool:
    if isinstance(value, Mapping):
        return any(_has_tensor(v) for v in value.values())
    return isinstance(value, torch.Tensor)


def _describe(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return f"{type(error).__name__}: {lines[0] if lines else ''}"[:300]
