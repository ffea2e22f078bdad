"""`--report FILE.html`: one self-contained page per run (no scripts, no external files).

Per model: the backward gain profile and sigma_max over depth as inline SVG, the findings,
and the layer table (the LayerGraph's rows joined with what the probe measured per layer).
"""
from __future__ import annotations

import math
from html import escape
from typing import Any, Iterable, Mapping

from gradlint import __version__
from gradlint.analysis.facts import LayerProbe, ProbeResult
from gradlint.report.plot import flagged_layers, gain_charts
from gradlint.report.results import ModelReport, Report
from gradlint.report.svg_chart import render_chart
from gradlint.report.text import summary_line

STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 24px auto;
       max-width: 1180px; color: #1d2329; padding: 0 16px; }
h1 { font-size: 22px; margin-bottom: 4px; } h2 { font-size: 18px; margin-top: 36px;
     border-bottom: 1px solid #d6dbe0; padding-bottom: 4px; } h3 { font-size: 15px; }
.muted { color: #5f6b76; } .note { background: #fff8e1; padding: 6px 10px; border-radius: 4px; }
.failed { background: #fdecea; padding: 8px 12px; border-radius: 4px; }
.charts { display: flex; flex-wrap: wrap; gap: 12px; }
table { border-collapse: collapse; width: 100%; font-size: 13px; margin: 8px 0 16px; }
th, td { border-bottom: 1px solid #e3e7eb; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f4f6f8; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
tr.flagged td { background: #fdecea; } code { font-size: 12px; }
.sev { border-radius: 3px; padding: 1px 6px; font-size: 12px; color: white; }
.sev-error { background: #c62828; } .sev-warning { background: #ef6c00; } .sev-info { background: #1565c0; }
svg.chart { background: #fbfcfd; border: 1px solid #e3e7eb; border-radius: 4px; }
svg .chart-title { font-size: 13px; font-weight: 600; fill: #1d2329; }
svg .tick, svg .axis-label { font-size: 11px; fill: #5f6b76; } svg .frame { fill: none; stroke: #c3cad1; }
svg .grid { stroke: #e3e7eb; } svg .reference { stroke: #8a949e; stroke-dasharray: 5 4; }
svg .series { fill: none; stroke: #1565c0; stroke-width: 1.6; }
svg .marker { fill: #1565c0; } svg .marker.flagged { fill: #c62828; }
svg .off-scale { stroke: #1565c0; stroke-width: 2; fill: none; } svg .off-scale.flagged { stroke: #c62828; }
svg .empty { font-size: 13px; fill: #8a949e; text-anchor: middle; }
"""

LAYER_COLUMNS = (
    ("layer", "name"), ("kind", "kind"), ("ops", "ops"), ("fan-in", "fan_in"), ("fan-out", "fan_out"),
    ("activation", "activation"), ("std·√fan-in", "weight_scaled_std"), ("grad norm", "grad_norm"),
    ("σ_max", "sigma_max"), ("dead", "dead_fraction"), ("saturated", "saturated_fraction"),
)


def render_html(report: Report) -> str:
    body = [
        "<h1>gradlint report</h1>",
        f'<p class="muted">gradlint {escape(__version__)} · {escape(summary_line(report))}</p>',
        *(_model_section(model) for model in report.models),
    ]
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>gradlint report</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )


def _model_section(model: ModelReport) -> str:
    kind = f" ({escape(model.format)})" if model.format else ""
    parts = [f"<section>\n<h2><code>{escape(model.path)}</code>{kind}</h2>"]
    if model.error is not None:
        parts.append(f'<p class="failed">Could not be analysed: {escape(model.error.message)}</p>')
        return "\n".join(parts + ["</section>"])
    if model.static_only:
        parts.append('<p class="note">No probe ran: verdicts rest on the static rules alone.</p>')
    charts = gain_charts(model)
    if model.probe is not None and charts is not None:
        parts.append(f'<p class="muted">{escape(_probe_caption(model.probe))}</p>')
        parts.append('<div class="charts">' + "".join(render_chart(c) for c in charts) + "</div>")
    parts.append(_findings_table(model))
    parts.append(_layer_table(model))
    return "\n".join(parts + ["</section>"])


def _probe_caption(probe: ProbeResult) -> str:
    parts = [f"probe on {probe.device}", f"batch {probe.batch_size}", f"seed {probe.seed}"]
    if probe.end_to_end_sigma_max is not None:
        parts.append(f"end-to-end σ_max {_number(probe.end_to_end_sigma_max)}")
    if probe.seconds is not None:
        parts.append(f"{probe.seconds:.2f} s")
    return " · ".join(parts) + ". Red points are layers with findings."


def _findings_table(model: ModelReport) -> str:
    if not model.findings:
        return "<h3>Findings</h3>\n<p>No findings.</p>"
    rows = [
        _row(
            [
                f'<span class="sev sev-{f.severity.value}">{f.severity.value}</span>',
                f"<code>{escape(f.code)}</code> {escape(f.name)}",
                f"<code>{escape(f.node or '(model)')}</code>",
                escape(f.message),
                escape(f.fix),
            ]
        )
        for f in model.findings
    ]
    header = _row(["severity", "rule", "layer", "message", "fix"], cell="th")
    return f"<h3>Findings ({len(rows)})</h3>\n<table>\n{header}\n" + "\n".join(rows) + "\n</table>"


def merged_layer_rows(model: ModelReport) -> list[dict[str, Any]]:
    """Graph rows with the probe's per-layer numbers; probe-only rows when there is no graph."""
    probes: Mapping[str, LayerProbe] = {p.node: p for p in (model.probe.layers if model.probe else ())}
    rows = [_flat_row(row) for row in model.graph_rows] or [{"name": name} for name in probes]
    for row in rows:
        probe = probes.get(str(row["name"]))
        if probe is not None:
            for key in ("grad_norm", "sigma_max", "dead_fraction", "saturated_fraction"):
                row[key] = getattr(probe, key)
    return rows


def _flat_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """A `gradlint graph --format json` layer as the table's columns."""
    weight, location = row.get("weight") or {}, row.get("location") or {}
    return {
        **{key: row.get(key) for key in ("name", "kind", "fan_in", "fan_out", "activation")},
        "ops": "+".join(row.get("op_types") or ()),
        "weight_scaled_std": weight.get("scaled_std"),
        "source": f"{location['path']}:{location['line']}" if location.get("line") else None,
    }


def _layer_table(model: ModelReport) -> str:
    rows = merged_layer_rows(model)
    if not rows:
        return ""
    flagged = flagged_layers(model)
    header = _row([title for title, _ in LAYER_COLUMNS], cell="th")
    body = [
        _tr("".join(_layer_cell(row, key) for _, key in LAYER_COLUMNS), str(row["name"]) in flagged)
        for row in rows
    ]
    return f"<h3>Layers ({len(rows)})</h3>\n<table>\n{header}\n" + "\n".join(body) + "\n</table>"


def _layer_cell(row: Mapping[str, Any], key: str) -> str:
    value = row.get(key)
    if key == "name":
        source = row.get("source")
        where = f'<br><span class="muted">{escape(source)}</span>' if source else ""
        return f"<td><code>{escape(str(value))}</code>{where}</td>"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return f'<td class="num">{_number(float(value)) if isinstance(value, float) else value}</td>'
    return "<td></td>" if value is None or value == "" else f"<td>{escape(str(value))}</td>"


def _number(value: float) -> str:
    return str(value) if not math.isfinite(value) else f"{value:.3g}"


def _row(cells: Iterable[str], cell: str = "td") -> str:
    return _tr("".join(f"<{cell}>{content}</{cell}>" for content in cells))


def _tr(cells: str, flagged: bool = False) -> str:
    return f'<tr class="flagged">{cells}</tr>' if flagged else f"<tr>{cells}</tr>"
