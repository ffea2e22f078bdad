"""The command line: `gradlint MODEL...`, `gradlint graph MODEL`, `gradlint rule CODE`.

Only this module prints and exits. Exit codes (DESIGN.md): 0 clean, 1 findings at or above
--fail-on, 2 usage error or a model that could not be analysed.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Sequence

import click

from gradlint import __version__
from gradlint.errors import GradlintError, UsageError
from gradlint.registry import rule_table
from gradlint.settings import build_settings

SUBCOMMANDS = ("check", "graph", "rule")


class DefaultCommandGroup(click.Group):
    """`gradlint model.onnx` means `gradlint check model.onnx`, as in ruff."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        first = next((arg for arg in args if not arg.startswith("-")), None)
        wants_group_option = any(arg in ("--help", "-h", "--version") for arg in args[:1])
        if first not in SUBCOMMANDS and not wants_group_option and args:
            args = ["check", *args]
        return super().parse_args(ctx, args)


def _input_options(function: Any) -> Any:
    options = [
        click.option("--input-shape", "input_shapes", multiple=True, metavar="[NAME=]DIMS",
                     help="Input dims, e.g. 2x3x224x224 for a sole input or ids=4x128."),
        click.option("--input-value", "input_values", multiple=True, metavar="NAME=NUMBER",
                     help="A scalar control input, e.g. sr=16000."),
        click.option("--input-dtype", "input_dtypes", multiple=True, metavar="NAME=DTYPE",
                     help="An input's dtype, e.g. ids=int64."),
        click.option("--batch-size", type=click.IntRange(min=1), default=None,
                     help="Probe batch for symbolic batch dims (default 8)."),
        click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=Path),
                     default=None, help="Read settings from this TOML file instead of the nearest one."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _fail(message: str) -> None:
    click.echo(f"gradlint: {message}", err=True)
    sys.exit(2)


@click.group(cls=DefaultCommandGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="gradlint")
def main() -> None:
    """Lint neural-network models for exploding and vanishing gradients before training."""


@main.command()
@click.argument("models", nargs=-1, required=True)
@click.option("--format", "output_format", type=click.Choice(["text", "json", "sarif", "github"]),
              default="text", help="sarif: SARIF 2.1.0 for code scanning; github: Actions annotations.")
@click.option("-o", "--output-file", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the report to this file instead of stdout.")
@click.option("--report", "html_report", type=click.Path(dir_okay=False, path_type=Path), default=None,
              metavar="FILE.html", help="Also write a self-contained HTML report with the gain profiles.")
@click.option("--plot", type=click.Path(dir_okay=False, path_type=Path), default=None, metavar="FILE.png",
              help="Also draw the gain profiles to a PNG (needs gradlint[report]).")
@click.option("--baseline", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Report only findings not in this file; a missing file is written from this run.")
@click.option("--update-baseline", is_flag=True, help="Rewrite the --baseline file from this run.")
@click.option("--fail-on", type=click.Choice(["error", "warning", "info"]), default=None,
              help="Lowest severity that makes the exit code 1 (default error).")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when findings reach --fail-on.")
@click.option("--select", multiple=True, help="Rule codes or prefixes to enable (comma-separated).")
@click.option("--extend-select", multiple=True, help="Codes or prefixes to enable on top.")
@click.option("--ignore", multiple=True, help="Codes or prefixes to disable.")
@click.option("--device", type=click.Choice(["auto", "cpu", "cuda"]), default=None)
@click.option("--seed", type=int, default=None, help="Seed of every probe draw (default 0).")
@click.option("--norm-stats", type=click.Choice(["batch", "running"]), default=None,
              help="Normalization statistics: the batch's own (training) or the stored ones.")
@click.option("--no-probe", is_flag=True, help="Static rules only: run no forward/backward probe.")
@click.option("--timeout", type=click.FloatRange(min=0), default=None, metavar="SECONDS",
              help="Give up on a model after this long (default 600; 0: no bound).")
@click.option("--trust-pickle", is_flag=True, help="Allow unpickling whole modules (runs code from the file).")
@click.option("--statistics", is_flag=True, help="Print a count per rule instead of each finding.")
@click.option("--show-fixes", is_flag=True, help="Print each finding's fix under it.")
@_input_options
def check(models: Sequence[str], output_format: str, output_file: Path | None, html_report: Path | None,
          plot: Path | None, baseline: Path | None, update_baseline: bool, exit_zero: bool,
          statistics: bool, show_fixes: bool, **raw: Any) -> None:
    """Analyse MODELS (ONNX files, .pt2/TorchScript archives, file.py:factory)."""
    from gradlint.api import lint_targets

    try:
        settings = build_settings(raw, cwd=Path.cwd())
        _check_output_options(plot, baseline, update_baseline)
    except GradlintError as error:
        _fail(error.one_line())
    report = lint_targets(models, settings, progress=_progress_sink())
    for model in report.models:
        if model.error is not None:
            click.echo(f"{model.path}: {model.error.message}", err=True)
    try:
        if baseline is not None:
            report = _apply_baseline(report, baseline, update_baseline)
        _write_pictures(report, html_report, plot)
        _emit(_render(report, output_format, statistics, show_fixes), output_file)
    except GradlintError as error:
        _fail(error.one_line())
    sys.exit(report.exit_code(settings.policy.fail_on, exit_zero=exit_zero))


def _check_output_options(plot: Path | None, baseline: Path | None, update_baseline: bool) -> None:
    """Refuse before the analysis, not after minutes of probing."""
    if update_baseline and baseline is None:
        raise UsageError("--update-baseline needs --baseline FILE")
    if plot is not None:
        from gradlint.report.plot import require_matplotlib

        require_matplotlib()


def _apply_baseline(report: Any, path: Path, update: bool) -> Any:
    from gradlint.baseline import apply_baseline

    outcome = apply_baseline(report, path, update=update)
    if outcome.written:
        count = len(outcome.report.findings)
        click.echo(f"gradlint: wrote baseline {path} ({count} finding{'s' * (count != 1)})", err=True)
    elif outcome.suppressed:
        click.echo(f"gradlint: {outcome.suppressed} known finding(s) hidden by baseline {path}", err=True)
    return outcome.report


def _write_pictures(report: Any, html_report: Path | None, plot: Path | None) -> None:
    if html_report is not None:
        from gradlint.report.html import render_html

        _write(html_report, render_html(report))
    if plot is not None:
        from gradlint.report.plot import write_plot_png

        write_plot_png(report, plot)


def _render(report: Any, output_format: str, statistics: bool, show_fixes: bool) -> str:
    if output_format == "json":
        from gradlint.report.json_format import render_json

        return render_json(report)
    if output_format == "sarif":
        from gradlint.report.sarif import render_sarif

        return render_sarif(report)
    if output_format == "github":
        from gradlint.report.github import render_github

        return render_github(report)
    from gradlint.report.text import render_statistics, render_text

    return render_statistics(report) if statistics else render_text(report, show_fixes=show_fixes)


def _emit(text: str, output_file: Path | None) -> None:
    if output_file is None:
        click.echo(text, nl=False)
    else:
        _write(output_file, text)


def _write(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as error:
        raise UsageError(f"cannot write {path}: {error.strerror or error}") from None


def _progress_sink() -> object | None:
    """A progress line on stderr, only for people watching a terminal."""
    if not sys.stderr.isatty():
        return None
    try:
        from gradlint.analysis.progress import TerminalProgress
    except ImportError:
        return None
    return TerminalProgress(sys.stderr)


@main.command()
@click.argument("model")
@click.option("--format", "output_format", type=click.Choice(["text", "json", "dot"]), default="text")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write to this file instead of stdout.")
@_input_options
def graph(model: str, output_format: str, output: Path | None, **raw: Any) -> None:
    """Print MODEL's layer graph as a table, JSON or Graphviz dot."""
    import json

    from gradlint.loaders import load_model
    from gradlint.report.graph import layer_graph_dot, layer_graph_json, render_layer_table

    try:
        settings = build_settings({**raw, "no_probe": True}, cwd=Path.cwd())
        loaded = load_model(model, settings.options_for(model))
    except GradlintError as error:
        _fail(f"{model}: {error.message}")
    if output_format == "json":
        text = json.dumps(layer_graph_json(loaded.graph), indent=2) + "\n"
    elif output_format == "dot":
        text = layer_graph_dot(loaded.graph)
    else:
        text = render_layer_table(loaded.graph)
    if output is None:
        click.echo(text, nl=False)
    else:
        output.write_text(text, encoding="utf-8")


@main.command()
@click.argument("code", required=False)
@click.option("--all", "show_all", is_flag=True, help="Print every rule's documentation.")
def rule(code: str | None, show_all: bool) -> None:
    """Print the documentation of rule CODE (e.g. GL401), or of every rule with --all."""
    table = rule_table()
    if show_all:
        click.echo("\n\n".join(_rule_doc(r) for r in table.values()))
        return
    if code is None:
        _fail("give a rule code (e.g. `gradlint rule GL901`) or --all")
    found = table.get(code.upper())
    if found is None:
        _fail(f"unknown rule {code!r}; `gradlint rule --all` lists them")
    click.echo(_rule_doc(found))


def _rule_doc(found: Any) -> str:
    header = f"# {found.code} {found.name} ({found.category.value}, default {found.severity.value})"
    return f"{header}\n\n{found.doc.strip()}\n"


if __name__ == "__main__":  # pragma: no cover
    main()
