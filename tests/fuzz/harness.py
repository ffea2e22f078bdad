"""Run one fuzzed model file through gradlint and check that it ends well.

Ending well: a report, or one clean error line (never "internal error"), within a time bound.
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

from gradlint.api import LintSettings, lint_target
from gradlint.options import AnalysisOptions
from gradlint.report.json_format import render_json
from gradlint.report.results import ModelReport, Report
from gradlint.report.text import render_text

# Per case: the --timeout gradlint enforces, and the wall time the test allows on top of it.
CASE_TIMEOUT_S = 30.0
CASE_BOUND_S = CASE_TIMEOUT_S + 15.0
REPO = Path(__file__).resolve().parents[2]
SHARED_MODELS = REPO.parent / "shared" / "models"


def settings_for(probe: bool) -> LintSettings:
    return LintSettings(options=AnalysisOptions(device="cpu", probe=probe, timeout=CASE_TIMEOUT_S))


def lint_file(path: Path, probe: bool = False) -> ModelReport:
    started = time.monotonic()
    report = lint_target(str(path), settings_for(probe))
    elapsed = time.monotonic() - started
    assert elapsed < CASE_BOUND_S, f"{path.name}: took {elapsed:.1f} s"
    assert_ends_well(report)
    return report


def lint_bytes(data: bytes, suffix: str = ".onnx", probe: bool = False) -> ModelReport:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"fuzzed{suffix}"
        path.write_bytes(data)
        return lint_file(path, probe)


def assert_ends_well(report: ModelReport) -> None:
    if report.error is not None:
        message = report.error.message
        assert report.error.code != "internal", message
        assert "internal error" not in message, message
        assert message.strip() and "\n" not in message, repr(message)
        assert "Traceback" not in message, message
        return
    whole = Report(models=(report,))
    render_text(whole)  # every report renders
    render_json(whole)


def real_models(max_bytes: int | None = None) -> list[Path]:
    """The bundled examples, plus the shared third-party models when present."""
    paths = sorted((REPO / "fixtures" / "examples").glob("*.onnx"))
    if SHARED_MODELS.is_dir():
        paths += sorted(SHARED_MODELS.glob("*.onnx"))
    return [path for path in paths if max_bytes is None or path.stat().st_size <= max_bytes]
