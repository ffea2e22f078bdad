"""A one-line progress display on stderr for probes that take more than a second.

`terminal_progress()` returns a callback `(phase, done, total)` that rewrites one line on
stderr ("gradlint: layer sigma_max 12/53") once the probe has run for `delay` seconds, and
`None` when stderr is not a terminal, so pipes and CI logs stay clean. `finish()` clears it
(`run_probes` calls it when the probes end). `TerminalProgress` is the same class, under the
name the CLI imports.
"""
from __future__ import annotations

import sys
import time
from typing import Callable, TextIO

Progress = Callable[[str, int, int], None]


class ProgressLine:
    def __init__(self, stream: TextIO, delay: float = 1.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._stream = stream
        self._delay = delay
        self._clock = clock
        self._start = clock()
        self._width = 0

    def __call__(self, phase: str, done: int, total: int) -> None:
        if self._clock() - self._start < self._delay:
            return
        text = f"gradlint: {phase} {done}/{total}" if total else f"gradlint: {phase}"
        self._write("\r" + text.ljust(self._width))
        self._width = len(text)

    def finish(self) -> None:
        if self._width:
            self._write("\r" + " " * self._width + "\r")
            self._width = 0

    def _write(self, text: str) -> None:
        self._stream.write(text)
        self._stream.flush()


def terminal_progress(stream: TextIO | None = None, delay: float = 1.0) -> ProgressLine | None:
    stream = stream if stream is not None else sys.stderr
    isatty = getattr(stream, "isatty", None)
    return ProgressLine(stream, delay) if isatty is not None and isatty() else None


TerminalProgress = ProgressLine
