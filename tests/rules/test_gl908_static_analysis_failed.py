from __future__ import annotations

import gradlint.analysis.static as static
from tool_models import HEALTHY, codes, lint


def test_a_static_analysis_crash_is_reported(monkeypatch):
    def crash(model):
        raise ValueError("boom")

    monkeypatch.setattr(static, "static_facts", crash)
    report = lint(HEALTHY)
    assert "GL908" in codes(report)


def test_a_working_static_analysis_is_silent():
    assert "GL908" not in codes(lint(HEALTHY))
