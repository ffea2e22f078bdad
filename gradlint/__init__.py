"""gradlint: lint neural-network models for gradient pathologies before training them."""
from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "lint"]


def __getattr__(name: str) -> Any:
    # `gradlint.lint` is imported on first use: `import gradlint` stays free of torch.
    if name == "lint":
        from gradlint.lint_api import lint

        return lint
    raise AttributeError(f"module 'gradlint' has no attribute {name!r}")
