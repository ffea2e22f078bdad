"""The Python lines behind an op, read off torch.fx stack traces and TorchScript source ranges.

Two lines matter: where the op itself was written (a residual `y = y + f(y)` in a model's
forward) and where the module running it was called (`x = self.fc(x)`), which is where a
finding about an `nn.Linear` should point. Frames inside the torch package are skipped:
a finding pointing at `torch/nn/modules/conv.py` helps nobody.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass

import torch

from gradlint.findings import Location

_FRAME = re.compile(r'File "([^"]+)", line (\d+)(?:, in (\S+))?')
_TORCH_DIR = os.path.dirname(os.path.abspath(torch.__file__)) + os.sep
# Frames between a module call and the caller's line: nn.Module.__call__ and decorators.
_CALL_PLUMBING = frozenset({"__call__", "_call_impl", "_wrapped_call_impl", "wrapper", "inner"})


@dataclass(frozen=True)
class Frame:
    path: str
    line: int
    function: str

    @property
    def location(self) -> Location:
        return Location(path=self.path, line=self.line)


def frames_of(stack_trace: str | None) -> list[Frame]:
    """The frames of a stack trace, outermost first."""
    if not stack_trace:
        return []
    return [Frame(p, int(n), f or "") for p, n, f in _FRAME.findall(stack_trace)]


def op_location(frames: list[Frame]) -> Location | None:
    """The innermost frame outside torch: the line that wrote the op."""
    for frame in reversed(frames):
        if not is_torch_file(frame.path):
            return frame.location
    return None


def call_site(frames: list[Frame]) -> Location | None:
    """The line that called the innermost module: the user frame before its `forward`."""
    forwards = [i for i, frame in enumerate(frames) if frame.function == "forward"]
    if not forwards:
        return None
    for frame in reversed(frames[: forwards[-1]]):
        if not is_torch_file(frame.path) and frame.function not in _CALL_PLUMBING:
            return frame.location
    return None


def source_range_location(text: str | None) -> Location | None:
    """A TorchScript node's source range: its first frame is the original Python line."""
    frames = frames_of(text)
    if not frames or is_torch_file(frames[0].path):
        return None
    return frames[0].location


def is_torch_file(path: str) -> bool:
    return os.path.abspath(path).startswith(_TORCH_DIR) or path.startswith("<")
