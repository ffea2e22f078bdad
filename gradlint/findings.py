"""Findings: the immutable result of a rule firing on one layer of one model."""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Mapping


class Severity(str, enum.Enum):
    """How bad a finding is; ordered info < warning < error."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]

    @classmethod
    def parse(cls, text: str) -> "Severity":
        try:
            return cls(text.lower())
        except ValueError:
            choices = ", ".join(s.value for s in cls)
            raise ValueError(f"unknown severity {text!r} (choose from {choices})") from None


_SEVERITY_RANK = {Severity.INFO: 0, Severity.WARNING: 1, Severity.ERROR: 2}


class Category(str, enum.Enum):
    """The fixed vocabulary of DESIGN.md that JSON consumers and CI rely on."""

    EXPLODING = "exploding"
    VANISHING = "vanishing"
    DEAD_UNITS = "dead-units"
    SATURATION = "saturation"
    INIT_SCALE = "init-scale"
    DEPTH = "depth"
    ACTIVATION = "activation"
    NUMERICS = "numerics"
    TOOL = "tool"


@dataclass(frozen=True)
class Location:
    """Where a finding points: the model file, or the Python line that built the layer."""

    path: str
    line: int | None = None


@dataclass(frozen=True)
class Finding:
    """One rule firing on one layer (or on the whole model when `node` is None)."""

    code: str
    name: str
    category: Category
    severity: Severity
    node: str | None
    message: str
    fix: str
    evidence: Mapping[str, Any] = field(default_factory=dict, hash=False, compare=False)
    location: Location | None = None

    @property
    def fingerprint(self) -> tuple[str, str]:
        """Identity across runs, used by baselines: rule code and layer."""
        return (self.code, self.node or "")
