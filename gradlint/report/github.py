"""`--format github`: GitHub Actions workflow commands, one annotation per finding.

`::error file=models/net.onnx,title=gradlint (GL401)::fc3: backward gain ...` shows up on the
file in a pull request. Escaping follows @actions/core: in the message `%`, CR and LF; in
property values also `:` and `,`, which would otherwise end the value.
"""
from __future__ import annotations

import os
from pathlib import Path

from gradlint.findings import Finding, Severity
from gradlint.report.paths import model_file, relative_posix
from gradlint.report.results import ModelReport, Report
from gradlint.report.text import summary_line

COMMANDS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def workflow_command(command: str, properties: dict[str, str | int | None], message: str) -> str:
    fields = ",".join(
        f"{key}={escape_property(str(value))}" for key, value in properties.items() if value is not None
    )
    return f"::{command} {fields}::{escape_data(message)}" if fields else f"::{command}::{escape_data(message)}"


def _file_property(path: str | None, cwd: Path) -> str | None:
    """Annotations need paths relative to the workspace (the working directory in Actions)."""
    if path is None:
        return None
    return relative_posix(path, cwd) or os.path.normpath(path)


def finding_annotation(model: ModelReport, finding: Finding, cwd: Path) -> str:
    location = finding.location
    file = location.path if location is not None and location.path else model_file(model.path)
    layer = f"{finding.node}: " if finding.node else ""
    properties: dict[str, str | int | None] = {
        "file": _file_property(file, cwd),
        "line": location.line if location is not None else None,
        "title": f"gradlint ({finding.code})",
    }
    message = f"{layer}{finding.message} [{finding.name}]"
    if finding.fix:
        message += f"\nfix: {finding.fix}"
    return workflow_command(COMMANDS[finding.severity], properties, message)


def render_github(report: Report, cwd: Path | None = None) -> str:
    cwd = cwd or Path.cwd()
    lines = []
    for model in report.models:
        if model.error is not None:
            properties = {
                "file": _file_property(model_file(model.path), cwd),
                "title": "gradlint (could not analyse)",
            }
            lines.append(workflow_command("error", properties, f"{model.path}: {model.error.message}"))
        lines.extend(finding_annotation(model, finding, cwd) for finding in model.findings)
    lines.append(summary_line(report))
    return "\n".join(lines) + "\n"
