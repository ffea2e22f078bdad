from __future__ import annotations

import sys
from pathlib import Path

import pytest
from sample_reports import sample_report

from gradlint.errors import UsageError
from gradlint.report.plot import gain_charts, write_plot_png
from gradlint.report.results import Report


def test_charts_only_for_probed_models(tmp_path: Path) -> None:
    probed, unprobed, failed = sample_report(tmp_path).models
    gain, sigma = gain_charts(probed)  # type: ignore[misc]
    assert [p.flagged for p in gain.points].count(True) == 1 and sigma.reference == 1.0
    assert gain_charts(unprobed) is None and gain_charts(failed) is None


def test_png_is_written_with_matplotlib(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="--plot needs the gradlint[report] extra")
    target = tmp_path / "profile.png"
    assert write_plot_png(sample_report(tmp_path), target) == 1
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_nothing_to_plot_is_a_usage_error(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib", reason="--plot needs the gradlint[report] extra")
    with pytest.raises(UsageError, match="no probe ran"):
        write_plot_png(Report(sample_report(tmp_path).models[1:]), tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()


def test_missing_matplotlib_says_which_extra_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    with pytest.raises(UsageError, match=r"gradlint\[report\]"):
        write_plot_png(sample_report(tmp_path), tmp_path / "x.png")
