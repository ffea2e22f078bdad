"""`[tool.gradlint]` in the nearest pyproject.toml, or a gradlint.toml.

The file supplies defaults; the command line overrides them. Keys are kebab-case like ruff's.
Unknown keys are an error, so a typo never silently disables a setting.

```toml
[tool.gradlint]
select = ["GL"]
ignore = ["GL203"]
fail-on = "warning"
seed = 0
[tool.gradlint.severity]
GL401 = "warning"
[tool.gradlint.per-layer-ignores]
"encoder.layer.*.attention.*" = ["GL4"]
[tool.gradlint.thresholds]
GL902 = { tolerance = 1e-3 }
[tool.gradlint.inputs."models/vad*.onnx"]
shape = ["input=1x512", "state=2x1x128"]
value = ["sr=16000"]
```
"""
from __future__ import annotations

import fnmatch
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

from gradlint.errors import UsageError
from gradlint.findings import Severity

_LIST_KEYS = ("select", "extend-select", "ignore")
_SCALAR_KEYS = ("fail-on", "device", "seed", "batch-size", "norm-stats", "timeout")
_TABLE_KEYS = ("severity", "per-layer-ignores", "thresholds", "inputs")
_INPUT_KEYS = ("shape", "value", "dtype")


@dataclass(frozen=True)
class InputStrings:
    """Input options as the CLI spells them (`NAME=DIMS`), for models matching a glob."""

    shapes: tuple[str, ...] = ()
    values: tuple[str, ...] = ()
    dtypes: tuple[str, ...] = ()


@dataclass(frozen=True)
class FileConfig:
    path: Path | None = None
    lists: Mapping[str, tuple[str, ...]] = field(default_factory=dict, hash=False)
    scalars: Mapping[str, Any] = field(default_factory=dict, hash=False)
    severity: Mapping[str, Severity] = field(default_factory=dict, hash=False)
    per_layer_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    thresholds: Mapping[str, Mapping[str, float]] = field(default_factory=dict, hash=False)
    inputs: tuple[tuple[str, InputStrings], ...] = ()

    def inputs_for(self, model_path: str) -> InputStrings:
        """The input options of every glob matching the model, in file order."""
        shapes: list[str] = []
        values: list[str] = []
        dtypes: list[str] = []
        for pattern, strings in self.inputs:
            if _glob_matches(pattern, model_path):
                shapes += strings.shapes
                values += strings.values
                dtypes += strings.dtypes
        return InputStrings(tuple(shapes), tuple(values), tuple(dtypes))


def _glob_matches(pattern: str, model_path: str) -> bool:
    path = Path(model_path.split(":")[0]).as_posix()
    return fnmatch.fnmatch(path, pattern) or fnmatch.fnmatch(Path(path).name, pattern)


def find_config(start: Path) -> Path | None:
    """The nearest gradlint.toml, or pyproject.toml with a [tool.gradlint] table."""
    for folder in (start, *start.parents):
        candidate = folder / "gradlint.toml"
        if candidate.is_file():
            return candidate
        candidate = folder / "pyproject.toml"
        if candidate.is_file() and "gradlint" in _read_toml(candidate).get("tool", {}):
            return candidate
    return None


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise UsageError(f"cannot read configuration: {error}", path=str(path)) from None


def load_config(path: Path | None) -> FileConfig:
    if path is None:
        return FileConfig()
    data = _read_toml(path)
    table = data if path.name == "gradlint.toml" else data.get("tool", {}).get("gradlint", {})
    unknown = set(table) - {*_LIST_KEYS, *_SCALAR_KEYS, *_TABLE_KEYS}
    if unknown:
        raise UsageError(f"unknown key(s) in [tool.gradlint]: {', '.join(sorted(unknown))}", str(path))
    try:
        return _parse(path, table)
    except (TypeError, ValueError, AttributeError) as error:
        raise UsageError(f"invalid [tool.gradlint] configuration: {error}", str(path)) from None


def _string_list(value: Any, key: str) -> tuple[str, ...]:
    if isinstance(value, str) or not all(isinstance(item, str) for item in value):
        raise ValueError(f"{key} must be a list of strings")
    return tuple(value)


def _parse(path: Path, table: Mapping[str, Any]) -> FileConfig:
    return FileConfig(
        path=path,
        lists={key: _string_list(table[key], key) for key in _LIST_KEYS if key in table},
        scalars={key: table[key] for key in _SCALAR_KEYS if key in table},
        severity={
            code.upper(): Severity.parse(level) for code, level in table.get("severity", {}).items()
        },
        per_layer_ignores=tuple(
            (pattern, _string_list(codes, f"per-layer-ignores.{pattern}"))
            for pattern, codes in table.get("per-layer-ignores", {}).items()
        ),
        thresholds={
            code.upper(): {key: float(value) for key, value in values.items()}
            for code, values in table.get("thresholds", {}).items()
        },
        inputs=tuple(_parse_inputs(table.get("inputs", {}))),
    )


def _parse_inputs(table: Mapping[str, Any]) -> list[tuple[str, InputStrings]]:
    parsed = []
    for pattern, options in table.items():
        unknown = set(options) - set(_INPUT_KEYS)
        if unknown:
            raise ValueError(f"inputs.{pattern}: unknown key(s) {', '.join(sorted(unknown))}")
        strings = InputStrings(
            *(_string_list(options.get(key, []), f"inputs.{pattern}.{key}") for key in _INPUT_KEYS)
        )
        parsed.append((pattern, strings))
    return parsed
