"""ONNX op implementations; importing this package registers every op module in it.

Each module of the package registers its ops with `registry.onnx_op` at import time; new
modules (e.g. `extra.py`) are picked up automatically.
"""
from __future__ import annotations

import importlib
import pkgutil

from gradlint.loaders.onnx.ops.registry import OpContext, lookup, onnx_op, supported_ops

__all__ = ["OpContext", "lookup", "onnx_op", "supported_ops"]


def _import_op_modules() -> None:
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if module.name != "registry":
            importlib.import_module(f"{__name__}.{module.name}")


_import_op_modules()
