"""The default output, shaped like ruff's concise format: one finding a line, then a summary."""
from __future__ import annotations

from gradlint.findings import Finding
from gradlint.report.results import ModelReport, Report


def finding_line(model: ModelReport, finding: Finding) -> str:
    where = f"{model.path}:{finding.node}" if finding.node else model.path
    return f"{where}: {finding.code} [{finding.severity.value}] {finding.message}"


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def summary_line(report: Report) -> str:
    summary = report.summary()
    total = summary.errors + summary.warnings + summary.infos
    analysed = summary.models - summary.failed_models
    parts = [
        _plural(summary.errors, "error"),
        _plural(summary.warnings, "warning"),
        _plural(summary.infos, "info"),
    ]
    line = f"Found {_plural(total, 'finding')} ({', '.join(parts)}) in {_plural(analysed, 'model')}"
    if summary.failed_models:
        line += f"; {summary.failed_models} could not be analysed"
    return line + "."


def render_text(report: Report, show_fixes: bool = False) -> str:
    lines = []
    for model in report.models:
        if model.error is not None:
            continue  # already said on stderr, one line per model
        for finding in model.findings:
            lines.append(finding_line(model, finding))
            if show_fixes and finding.fix:
                lines.append(f"  fix: {finding.fix}")
        if model.static_only:
            lines.append(f"{model.path}: no probe ran; verdicts rest on static rules alone")
    lines.append(summary_line(report))
    return "\n".join(lines) + "\n"


def render_statistics(report: Report) -> str:
    """`--statistics`: one line per rule, most frequent first, like ruff."""
    counts: dict[tuple[str, str, str], int] = {}
    for finding in report.findings:
        key = (finding.code, finding.name, finding.severity.value)
        counts[key] = counts.get(key, 0) + 1
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0][0]))
    lines = [f"{count:>5}  {code}  [{severity}] {name}" for (code, name, severity), count in ordered]
    lines.append(summary_line(report))
    return "\n".join(lines) + "\n"
