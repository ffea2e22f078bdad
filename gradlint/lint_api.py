"""`gradlint.lint(model_or_path, **options) -> Report`: the command line as a function.

Options are the CLI's long options in Python spelling (`select="GL4"`, `device="cpu"`,
`probe=False`, `input_shapes={"ids": (4, 128)}`); the nearest `[tool.gradlint]` applies as it
does for the CLI, so `lint` reports exactly what `gradlint MODEL` would.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Iterable, Mapping

from gradlint.api import LintSettings, lint_loader, lint_target
from gradlint.report.results import ModelReport, Report
from gradlint.settings import build_settings

_CODE_LISTS = ("select", "extend_select", "ignore")
_SCALARS = ("fail_on", "device", "seed", "batch_size", "norm_stats")
_INPUTS = ("input_shapes", "input_values", "input_dtypes")
OPTIONS = (*_CODE_LISTS, *_SCALARS, *_INPUTS, "probe", "trust_pickle", "config")


def lint(model_or_path: Any, example_inputs: Any = None, **options: Any) -> Report:
    """Lint a model file, a `file.py:factory` target or an in-memory `torch.nn.Module`."""
    settings = settings_from_options(**options)
    return Report(models=(lint_model(model_or_path, example_inputs, settings),))


def settings_from_options(**options: Any) -> LintSettings:
    unknown = sorted(set(options) - set(OPTIONS))
    if unknown:
        raise TypeError(f"unknown gradlint option(s) {', '.join(unknown)}; choose from {', '.join(OPTIONS)}")
    return build_settings(_raw_cli_values(options), cwd=Path.cwd())


def lint_model(model_or_path: Any, example_inputs: Any, settings: LintSettings) -> ModelReport:
    if isinstance(model_or_path, (str, os.PathLike)):
        if example_inputs is not None:
            raise TypeError("example_inputs only applies to an nn.Module; a file brings its own inputs")
        return lint_target(os.fspath(model_or_path), settings)
    import torch

    if not isinstance(model_or_path, torch.nn.Module):
        raise TypeError(f"expected a path or a torch.nn.Module, not {type(model_or_path).__name__}")
    from gradlint.loaders.torch.model_assembly import from_eager_module

    module, label = model_or_path, module_label(model_or_path)
    return lint_loader(
        label, lambda options: from_eager_module(module, example_inputs, label, "python", options, label), settings
    )


def module_label(module: Any) -> str:
    """How reports name an in-memory module: `<package.models.Net>`."""
    kind = type(module)
    return f"<{kind.__module__}.{kind.__qualname__}>"


def _raw_cli_values(options: Mapping[str, Any]) -> dict[str, Any]:
    """The Python options as the CLI's parsed values, so both go through build_settings."""
    raw: dict[str, Any] = {key: _strings(options[key]) for key in _CODE_LISTS if key in options}
    raw.update({key: options[key] for key in _SCALARS if options.get(key) is not None})
    raw.update({key: _assignments(options[key]) for key in _INPUTS if key in options})
    raw["no_probe"] = not options.get("probe", True)
    raw["trust_pickle"] = bool(options.get("trust_pickle", False))
    if options.get("config") is not None:
        raw["config_path"] = Path(options["config"])
    return raw


def _strings(value: str | Iterable[str]) -> tuple[str, ...]:
    return (value,) if isinstance(value, str) else tuple(value)


def _assignments(value: str | Iterable[str] | Mapping[str, Any]) -> tuple[str, ...]:
    """{"ids": (4, 128), "sr": 16000} -> ("ids=4x128", "sr=16000"); "" names the sole input."""
    if not isinstance(value, Mapping):
        return _strings(value)
    return tuple(f"{name}={_text(item)}" if name else _text(item) for name, item in value.items())


def _text(item: Any) -> str:
    if isinstance(item, (tuple, list)):
        return "x".join(str(int(dim)) for dim in item)
    return str(item).removeprefix("torch.")
