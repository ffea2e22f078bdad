"""Python factories: `path/to/file.py:build` and `package.module:build`.

Naming a factory is the user's explicit opt-in to running their code: gradlint imports the
file or module and calls the callable, which returns an `nn.Module` or
`(module, example_inputs)`. The file's folder (or the working directory, for a module path)
is on sys.path while importing and calling, as `python file.py` / `python -m` would have it.
"""
from __future__ import annotations

import hashlib
import importlib
import importlib.util
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Callable, Iterator

import torch

from gradlint.errors import ModelLoadError


@dataclass(frozen=True)
class FactoryTarget:
    """`reference:attribute`, where the reference is a .py file or a dotted module name."""

    reference: str
    attribute: str
    is_file: bool

    def __str__(self) -> str:
        return f"{self.reference}:{self.attribute}"


def parse_factory_target(target: str) -> FactoryTarget | None:
    """The factory a target names, or None when it is not `file.py:name` / `pkg.mod:name`."""
    reference, colon, attribute = target.rpartition(":")
    if not colon or not reference or not all(p.isidentifier() for p in attribute.split(".")):
        return None
    if reference.endswith(".py"):
        return FactoryTarget(reference, attribute, is_file=True)
    if all(part.isidentifier() for part in reference.split(".")):
        return FactoryTarget(reference, attribute, is_file=False)
    return None


def call_factory(target: FactoryTarget) -> tuple[torch.nn.Module, Any | None]:
    """Import the factory and call it: (module, example inputs or None)."""
    folder = Path(target.reference).resolve().parent if target.is_file else Path.cwd()
    with _on_sys_path(folder):
        factory = _resolve(target)
        if isinstance(factory, torch.nn.Module):
            return factory, None  # `file.py:model` naming a module instance
        try:
            result = factory()
        except Exception as error:
            raise ModelLoadError(f"calling the factory {target} raised {_describe(error)}") from error
    return _unpack(result, target)


def _resolve(target: FactoryTarget) -> Callable[[], Any] | torch.nn.Module:
    module = _import_file(target.reference) if target.is_file else _import_module(target.reference)
    factory: Any = module
    for part in target.attribute.split("."):  # `file.py:Builder.create`
        factory = getattr(factory, part, None)
        if factory is None:
            raise ModelLoadError(f"{target.reference} has no attribute {target.attribute!r}")
    if not callable(factory):
        raise ModelLoadError(f"{target} is a {type(factory).__name__}, not a callable")
    return factory


def _import_file(reference: str) -> ModuleType:
    path = Path(reference).resolve()
    if not path.is_file():
        raise ModelLoadError(f"factory file {reference} not found")
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:8]
    name = f"gradlint_factory_{path.stem}_{digest}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ModelLoadError(f"cannot import {reference} as Python source")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look classes up here
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        sys.modules.pop(name, None)
        raise ModelLoadError(f"importing {reference} raised {_describe(error)}") from error
    return module


def _import_module(reference: str) -> ModuleType:
    try:
        return importlib.import_module(reference)
    except ModuleNotFoundError as error:
        if error.name and reference.startswith(error.name):
            raise ModelLoadError(f"no Python module named {reference!r} on sys.path") from error
        raise ModelLoadError(f"importing {reference} raised {_describe(error)}") from error
    except Exception as error:
        raise ModelLoadError(f"importing {reference} raised {_describe(error)}") from error


def _unpack(result: Any, target: FactoryTarget) -> tuple[torch.nn.Module, Any | None]:
    if isinstance(result, torch.nn.Module):
        return result, None
    if isinstance(result, (tuple, list)) and len(result) == 2 and isinstance(result[0], torch.nn.Module):
        return result[0], result[1]
    raise ModelLoadError(
        f"the factory {target} returned {type(result).__name__}; "
        "return an nn.Module or (module, example_inputs)"
    )


@contextmanager
def _on_sys_path(folder: Path) -> Iterator[None]:
    entry = str(folder)
    added = entry not in sys.path
    if added:
        sys.path.insert(0, entry)
    try:
        yield
    finally:
        if added and entry in sys.path:
            sys.path.remove(entry)


def _describe(error: BaseException) -> str:
    text = " ".join(str(error).split())
    return f"{type(error).__name__}: {text}"[:300] if text else type(error).__name__
