"""The LayerGraph of a PyTorch model from torch.export (strict=False).

Export traces the model's forward into aten ops that keep, per op, the module calls it ran in
(`nn_module_stack`) and the Python stack behind it: layers get module paths as names (the
same paths module hooks tap) and the Python line that called the module as location.
The model is exported in eval mode (dropout and batch-norm updates are not part of the
structure) and its train/eval flags are restored afterwards.
"""
from __future__ import annotations

import contextlib
import io
import logging
from contextlib import contextmanager
from typing import Any, Iterator, Mapping, Sequence

import torch

from gradlint.loaders.torch.export_records import records_from_program
from gradlint.loaders.torch.layer_builder import build_layer_graph
from gradlint.model import LayerGraph


class ExportFailed(Exception):
    """torch.export could not trace the model; the message is one line saying why."""


def export_program(
    module: torch.nn.Module, args: Sequence[Any], kwargs: Mapping[str, Any]
) -> torch.export.ExportedProgram:
    try:
        with _eval_mode(module), _quiet_torch_logs(), torch.no_grad():
            return torch.export.export(module, tuple(args), kwargs=dict(kwargs), strict=False)
    except Exception as error:  # any tracing failure means: fall back to hooks
        raise ExportFailed(one_line_reason(error)) from error


def layer_graph_from_program(
    program: torch.export.ExportedProgram, input_names: Sequence[str] = ()
) -> LayerGraph:
    return build_layer_graph(records_from_program(program), input_names)


def one_line_reason(error: BaseException) -> str:
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    text = lines[0] if lines else ""
    return f"{type(error).__name__}: {text}"[:300]


@contextmanager
def _quiet_torch_logs() -> Iterator[None]:
    """A failed trace logs and prints the partial graph to stderr; the failure is reported
    once, as a Diagnostic, instead."""
    logger = logging.getLogger("torch")
    level = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            yield
    finally:
        logger.setLevel(level)


@contextmanager
def _eval_mode(module: torch.nn.Module) -> Iterator[None]:
    modes = {sub: sub.training for sub in module.modules()}
    module.eval()
    try:
        yield
    finally:
        for sub, training in modes.items():
            sub.training = training
