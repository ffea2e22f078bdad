"""Resolve settings: command-line values over `[tool.gradlint]` over built-in defaults."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any, Iterable, Mapping

from gradlint.api import LintSettings
from gradlint.config import FileConfig, InputStrings, find_config, load_config
from gradlint.errors import UsageError
from gradlint.findings import Severity
from gradlint.options import AnalysisOptions, InputOverrides
from gradlint.policy import ALL, Policy


def _codes(values: Iterable[str]) -> tuple[str, ...]:
    """`--select GL4,GL901 --select GL2` -> ('GL4', 'GL901', 'GL2')."""
    return tuple(code.strip().upper() for value in values for code in value.split(",") if code.strip())


def parse_input_strings(strings: InputStrings) -> InputOverrides:
    from gradlint.loaders.onnx.inputs import parse_input_options

    try:
        return parse_input_options(list(strings.shapes), list(strings.values), list(strings.dtypes))
    except ValueError as error:
        raise UsageError(str(error)) from None


def _policy(raw: Mapping[str, Any], config: FileConfig) -> Policy:
    select = _codes(raw.get("select") or ()) or config.lists.get("select") or (ALL,)
    fail_on = raw.get("fail_on") or config.scalars.get("fail-on") or "error"
    try:
        fail_on_severity = Severity.parse(str(fail_on))
    except ValueError as error:
        raise UsageError(f"fail-on: {error}") from None
    return Policy(
        select=tuple(select),
        extend_select=(*config.lists.get("extend-select", ()), *_codes(raw.get("extend_select") or ())),
        ignore=(*config.lists.get("ignore", ()), *_codes(raw.get("ignore") or ())),
        severity_overrides=dict(config.severity),
        per_layer_ignores=config.per_layer_ignores,
        fail_on=fail_on_severity,
    )


def _pick(raw: Mapping[str, Any], config: FileConfig, cli_key: str, file_key: str, default: Any) -> Any:
    value = raw.get(cli_key)
    return value if value is not None else config.scalars.get(file_key, default)


def _options(raw: Mapping[str, Any], config: FileConfig) -> AnalysisOptions:
    defaults = AnalysisOptions()
    options = AnalysisOptions(
        device=str(_pick(raw, config, "device", "device", defaults.device)),
        seed=int(_pick(raw, config, "seed", "seed", defaults.seed)),
        batch_size=int(_pick(raw, config, "batch_size", "batch-size", defaults.batch_size)),
        norm_stats=str(_pick(raw, config, "norm_stats", "norm-stats", defaults.norm_stats)),
        probe=not raw.get("no_probe", False),
        trust_pickle=bool(raw.get("trust_pickle", False)),
        timeout=_timeout(_pick(raw, config, "timeout", "timeout", defaults.timeout)),
        inputs=parse_input_strings(
            InputStrings(
                tuple(raw.get("input_shapes") or ()),
                tuple(raw.get("input_values") or ()),
                tuple(raw.get("input_dtypes") or ()),
            )
        ),
    )
    if options.device not in ("auto", "cpu", "cuda"):
        raise UsageError(f"device must be auto, cpu or cuda, not {options.device!r}")
    if options.norm_stats not in ("batch", "running"):
        raise UsageError(f"norm-stats must be batch or running, not {options.norm_stats!r}")
    if options.batch_size < 1:
        raise UsageError("batch-size must be at least 1")
    return options


def _timeout(value: Any) -> float:
    try:
        seconds = float(value)
    except (TypeError, ValueError):
        raise UsageError(f"timeout must be a number of seconds, not {value!r}") from None
    if seconds < 0 or seconds != seconds:
        raise UsageError("timeout must be 0 (no bound) or a positive number of seconds")
    return seconds


def build_settings(raw: Mapping[str, Any], cwd: Path) -> LintSettings:
    config_path = raw.get("config_path")
    if config_path is not None and not Path(config_path).is_file():
        raise UsageError(f"no such configuration file: {config_path}")
    config = load_config(Path(config_path) if config_path else find_config(cwd))
    return LintSettings(
        options=_options(raw, config),
        policy=_policy(raw, config),
        thresholds=dict(config.thresholds),
        inputs_by_glob=tuple((pattern, parse_input_strings(strings)) for pattern, strings in config.inputs),
    )


def with_options(settings: LintSettings, **changes: Any) -> LintSettings:
    return replace(settings, options=replace(settings.options, **changes))
