"""Errors that end the analysis of one model with exit code 2.

Everything below the CLI raises these instead of printing or exiting; the CLI turns each into
one line on stderr (`path: cause`) and goes on with the next model.
"""
from __future__ import annotations


class GradlintError(Exception):
    """Base class: a condition the user must fix; never shown as a traceback."""

    code = "tool-error"

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path

    def one_line(self) -> str:
        text = " ".join(self.message.split())
        return f"{self.path}: {text}" if self.path else text


class UsageError(GradlintError):
    """Bad command-line options or configuration."""

    code = "usage"


class ModelLoadError(GradlintError):
    """The model file is missing, unreadable, malformed or refused."""

    code = "load"


class UnsafeModelError(ModelLoadError):
    """Loading would run code from the file, or read outside the model's folder."""

    code = "unsafe"


class ResourceLimitError(GradlintError):
    """The model would need more memory or time than allowed."""

    code = "resource"
