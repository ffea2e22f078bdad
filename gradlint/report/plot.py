"""The two pictures of a probe: the backward gain profile and sigma_max over depth.

`gain_charts` feeds the HTML report's inline SVG; `write_plot_png` draws the same two panels
with matplotlib for `--plot FILE.png` (the optional extra `gradlint[report]`).
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from gradlint.errors import UsageError
from gradlint.report.results import ModelReport, Report
from gradlint.report.svg_chart import Chart, Point

GAIN_TITLE = "Backward gain profile: gradient norm at each layer output"
SIGMA_TITLE = "Local Jacobian spectral norm (sigma_max) per layer"


def flagged_layers(model: ModelReport) -> set[str]:
    return {finding.node for finding in model.findings if finding.node}


def gain_charts(model: ModelReport) -> tuple[Chart, Chart] | None:
    """The model's two charts, or None when no probe ran."""
    if model.probe is None:
        return None
    flagged = flagged_layers(model)
    layers = model.probe.layers
    gain = tuple(Point(p.node, p.grad_norm, p.node in flagged) for p in layers)
    sigma = tuple(Point(p.node, p.sigma_max, p.node in flagged) for p in layers)
    return (
        Chart(GAIN_TITLE, "gradient norm (log)", gain),
        Chart(SIGMA_TITLE, "sigma_max (log)", sigma, reference=1.0),
    )


def require_matplotlib() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")  # files only: never open a window, work without a display
        import matplotlib.pyplot as pyplot
    except ImportError:
        raise UsageError("--plot needs matplotlib: pip install 'gradlint[report]'") from None
    return pyplot


def _plottable(value: float | None) -> float:
    """matplotlib leaves a gap at NaN; zeros cannot sit on a log axis either."""
    return value if value is not None and value > 0 and math.isfinite(value) else math.nan


def write_plot_png(report: Report, path: Path) -> int:
    """Both panels, one line per probed model; returns how many models were drawn."""
    pyplot = require_matplotlib()
    figure, axes = pyplot.subplots(2, 1, figsize=(9, 7), sharex=True)
    try:
        drawn = sum(_draw_model(axes, model) for model in report.models)
        if not drawn:
            raise UsageError("--plot: no probe ran on any model, so there is nothing to plot")
        _decorate(axes[0], GAIN_TITLE, "gradient norm")
        _decorate(axes[1], SIGMA_TITLE, "sigma_max")
        axes[1].axhline(1.0, linestyle="--", color="grey", linewidth=1)
        axes[1].set_xlabel("layer (depth order)")
        figure.tight_layout()
        figure.savefig(path, dpi=120)
    except OSError as error:
        raise UsageError(f"cannot write {path}: {error.strerror or error}") from None
    finally:
        pyplot.close(figure)
    return drawn


def _draw_model(axes: Any, model: ModelReport) -> bool:
    charts = gain_charts(model)
    if charts is None:
        return False
    for axis, chart in zip(axes, charts):
        values = [_plottable(point.value) for point in chart.points]
        axis.plot(range(len(values)), values, marker="o", markersize=3, linewidth=1.5, label=model.path)
        flagged = [(i, v) for i, (p, v) in enumerate(zip(chart.points, values)) if p.flagged]
        if flagged:
            axis.scatter(*zip(*flagged), color="#c62828", zorder=3, s=28)
    return True


def _decorate(axis: Any, title: str, label: str) -> None:
    axis.set_yscale("log")
    axis.set_title(title, fontsize=10)
    axis.set_ylabel(label)
    axis.grid(True, which="major", alpha=0.3)
    axis.legend(fontsize=8)
