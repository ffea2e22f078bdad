"""A wall-clock bound on the analysis of one model (`--timeout SECONDS`).

On the main thread of a POSIX process a SIGALRM timer interrupts whatever Python code is
running (a C kernel finishes first). Elsewhere (threads, Windows) the bound is checked between
phases with `check()`. The interruption is a BaseException so that the `except Exception`
blocks turning probe failures into diagnostics cannot swallow it.

Native code that may run for ever (an onnxruntime Loop with a huge trip count) never returns
to Python for the signal to land; it registers a cancel hook with `cancel_when_expired`, which
a watchdog thread, alive only around that call, calls at the deadline.
"""
from __future__ import annotations

import signal
import threading
import time
from contextlib import contextmanager
from typing import Callable, Iterator

class AnalysisTimeout(BaseException):
    """The analysis of one model ran past its --timeout."""

    def __init__(self, seconds: float) -> None:
        super().__init__(timeout_message(seconds))
        self.seconds = seconds


def timeout_message(seconds: float) -> str:
    shown = f"{seconds:g}"
    return f"analysis exceeded --timeout {shown} s"


_deadline = threading.local()


def _can_use_alarm() -> bool:
    return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()


@contextmanager
def time_limit(seconds: float | None) -> Iterator[None]:
    """Raise AnalysisTimeout in the body once `seconds` have passed; None or 0: no bound."""
    if not seconds or seconds <= 0:
        yield
        return
    previous_deadline = getattr(_deadline, "value", None)
    _deadline.value = (time.monotonic() + seconds, seconds)
    if not _can_use_alarm():
        try:
            yield
        finally:
            _deadline.value = previous_deadline
        return

    def _on_alarm(signum: int, frame: object) -> None:
        raise AnalysisTimeout(seconds)

    previous_handler = signal.signal(signal.SIGALRM, _on_alarm)
    started = time.monotonic()
    previous_timer, _ = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous_handler)
        _deadline.value = previous_deadline
        if previous_timer > 0:  # someone else's alarm (pytest-timeout, ...) still runs
            remaining = previous_timer - (time.monotonic() - started)
            signal.setitimer(signal.ITIMER_REAL, max(remaining, 0.001))


@contextmanager
def cancel_when_expired(cancel: Callable[[], None]) -> Iterator[None]:
    """Call `cancel` from a watchdog thread if the current time limit expires in the body."""
    current = getattr(_deadline, "value", None)
    if current is None:
        yield
        return
    watchdog = threading.Timer(max(current[0] - time.monotonic(), 0.0), cancel)
    watchdog.daemon = True
    watchdog.start()
    try:
        yield
    finally:
        watchdog.cancel()
        watchdog.join()


def check() -> None:
    """Between phases: raise AnalysisTimeout when the current bound has passed."""
    current = getattr(_deadline, "value", None)
    if current is not None and time.monotonic() > current[0]:
        raise AnalysisTimeout(current[1])
