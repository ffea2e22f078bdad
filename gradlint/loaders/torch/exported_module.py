"""A runnable module from a torch.export archive, with its module hierarchy and train semantics.

`ExportedProgram.module()` is one flat graph; `torch.export.unflatten` rebuilds the submodule
hierarchy (one InterpreterModule per module path) so forward hooks tap the same layers as for
the Python model. An exported graph has its mode baked in (batch norm with running or batch
statistics, dropout on or off), so its batch-norm calls are routed through a `NormSwitch`
that `set_norm_mode` flips, and dropout is made the identity.
"""
from __future__ import annotations

import warnings
from typing import Any, Sequence

import torch
import torch.fx

_BATCH_NORM = torch.ops.aten.batch_norm.default
_NO_TRAINING_BATCH_NORM = torch.ops.aten._native_batch_norm_legit_no_training.default
_DROPOUTS = (torch.ops.aten.dropout.default, torch.ops.aten.feature_dropout.default)


class NormSwitch:
    """Whether rerouted batch norms use batch statistics (True) or the stored running ones."""

    def __init__(self) -> None:
        self.batch_statistics = True


class _BatchNorm:
    """Stands in for `aten.batch_norm` in the graph and follows the switch."""

    __name__ = "gradlint_batch_norm"

    def __init__(self, switch: NormSwitch) -> None:
        self.switch = switch

    def __call__(
        self, x: torch.Tensor, weight: Any, bias: Any, mean: Any, var: Any, *rest: Any
    ) -> Any:
        momentum, eps = _momentum_eps(rest)
        return _batch_norm(self.switch, x, weight, bias, mean, var, momentum, eps)


class _NoTrainingBatchNorm(_BatchNorm):
    """Stands in for the decomposed `_native_batch_norm_legit_no_training` (a triple)."""

    __name__ = "gradlint_batch_norm_triple"

    def __call__(
        self, x: torch.Tensor, weight: Any, bias: Any, mean: Any, var: Any, *rest: Any
    ) -> Any:
        momentum, eps = (*rest, 0.1, 1e-5)[:2]
        out = _batch_norm(self.switch, x, weight, bias, mean, var, momentum, eps)
        empty = x.new_zeros((0,))
        return out, empty, empty


def _batch_norm(
    switch: NormSwitch, x: torch.Tensor, weight: Any, bias: Any, mean: Any, var: Any,
    momentum: float, eps: float,
) -> torch.Tensor:
    if switch.batch_statistics:  # no running stats passed: nothing is updated in place
        return torch.ops.aten.batch_norm.default(x, weight, bias, None, None, True, momentum, eps, False)
    return torch.ops.aten.batch_norm.default(x, weight, bias, mean, var, False, momentum, eps, False)


def _momentum_eps(rest: tuple[Any, ...]) -> tuple[float, float]:
    # aten.batch_norm(input, weight, bias, mean, var, training, momentum, eps, cudnn_enabled)
    momentum = rest[1] if len(rest) > 1 else 0.1
    eps = rest[2] if len(rest) > 2 else 1e-5
    return momentum, eps


def _identity_dropout(x: torch.Tensor, *_: Any) -> torch.Tensor:
    return x


_identity_dropout.__name__ = "gradlint_no_dropout"


def unflattened_module(
    program: torch.export.ExportedProgram, positional: Sequence[str] = ()
) -> tuple[torch.nn.Module, NormSwitch]:
    """The program as a module tree whose batch norms follow the returned switch.

    It also takes its inputs by name: the ones in `positional` (the inputs the program was
    exported with as positional arguments) are passed on by position, as it requires.
    """
    with warnings.catch_warnings():
        # torch's own deprecation notices about its pytree internals, not the user's concern
        warnings.simplefilter("ignore", FutureWarning)
        module = torch.export.unflatten(program)
    _accept_keywords(module, list(positional))
    switch = NormSwitch()
    for submodule in module.modules():
        graph = getattr(submodule, "graph", None)
        if isinstance(graph, torch.fx.Graph) and _reroute(graph, switch):
            _recompile(submodule)
    return module, switch


def _accept_keywords(module: torch.nn.Module, positional: list[str]) -> None:
    exported_forward = module.forward

    def forward(*args: Any, **kwargs: Any) -> Any:
        named = [kwargs.pop(name) for name in positional[len(args):] if name in kwargs]
        return exported_forward(*args, *named, **kwargs)

    module.forward = forward  # type: ignore[method-assign]  # nn.Module.__call__ reads it


def _reroute(graph: torch.fx.Graph, switch: NormSwitch) -> bool:
    replacements = {
        _BATCH_NORM: _BatchNorm(switch),
        _NO_TRAINING_BATCH_NORM: _NoTrainingBatchNorm(switch),
        **{dropout: _identity_dropout for dropout in _DROPOUTS},
    }
    changed = False
    for node in graph.nodes:
        if node.op == "call_function" and node.target in replacements:
            node.target, changed = replacements[node.target], True
    return changed


def _recompile(module: torch.nn.Module) -> None:
    graph_module = module.__dict__.get("graph_module")
    if isinstance(graph_module, torch.fx.GraphModule):
        graph_module.recompile()
    elif isinstance(module, torch.fx.GraphModule):
        module.recompile()
