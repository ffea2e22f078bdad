"""gradlint: lint neural-network models for gradient pathologies before training them."""
from __future__ import annotations

__version__ = "0.1.0"
