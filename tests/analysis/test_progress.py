"""The progress line: only on a terminal, only after the delay, cleared at the end."""
from __future__ import annotations

import io

from gradlint.analysis.progress import ProgressLine, terminal_progress


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_nothing_when_stderr_is_not_a_terminal() -> None:
    assert terminal_progress(io.StringIO()) is None
    assert isinstance(terminal_progress(Terminal()), ProgressLine)


def test_line_appears_after_the_delay_and_is_rewritten_in_place() -> None:
    now = [0.0]
    stream = Terminal()
    line = ProgressLine(stream, delay=1.0, clock=lambda: now[0])
    line("layer sigma_max", 1, 10)
    assert stream.getvalue() == ""
    now[0] = 1.5
    line("layer sigma_max", 2, 10)
    line("end-to-end sigma_max", 0, 1)
    text = stream.getvalue()
    assert text.startswith("\rgradlint: layer sigma_max 2/10")
    assert text.endswith("\rgradlint: end-to-end sigma_max 0/1")
    line("done", 1, 1)
    longer = len("gradlint: end-to-end sigma_max 0/1")
    assert stream.getvalue().endswith("\r" + "gradlint: done 1/1".ljust(longer))  # blanks the rest
    line.finish()
    assert stream.getvalue().endswith("\r")
