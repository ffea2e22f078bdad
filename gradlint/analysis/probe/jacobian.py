"""Jacobian-vector products of a function at a point, as a linear operator J and its transpose.

Two ways to get them, same contract:

- `FunctionJacobian` re-runs the function under torch.func: `jvp` by forward mode, `vjp` from
  one recorded reverse pass. It needs only the function, so it works on a narrowed input
  (one sample of a layer whose Jacobian is the same for every sample).
- `GraphJacobian` works on tensors already linked in an autograd graph (the probe's own forward
  pass), so nothing is recomputed: `vjp` is a backward pass, and `jvp` is the backward pass of
  that backward pass, linear in its cotangent (the double-backward trick). Function transforms
  are not needed, which is also the fallback for layers torch.func cannot transform.

Outputs are tuples even for one output tensor; inputs are the tensors the Jacobian is taken
with respect to, everything else the function reads being constant.
"""
from __future__ import annotations

import contextlib
import warnings
from typing import Callable, Iterator, Protocol, Sequence

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

from gradlint.analysis.probe.blocks import Vector
from gradlint.analysis.probe.linear_backward import linear_backward_convolutions


class JacobianOperator(Protocol):
    inputs: Vector  # the point, one tensor per differentiated input
    outputs: Vector  # f at the point

    def jvp(self, tangents: Vector) -> Vector:
        ...

    def vjp(self, cotangents: Vector) -> Vector:
        ...


@contextlib.contextmanager
def twice_differentiable(strict: bool = False) -> Iterator[None]:
    """Kernels whose backward can itself be differentiated: attention by its math kernel (the
    fused flash/efficient kernels have no double backward); `strict` also turns cuDNN off
    (cuDNN RNNs have none either), which costs speed, so it is kept for fallbacks."""
    with contextlib.ExitStack() as stack:
        stack.enter_context(sdpa_kernel(SDPBackend.MATH))
        if strict:
            stack.enter_context(torch.backends.cudnn.flags(enabled=False))
        yield


def forward_jvp(function: Callable[..., object], primals: Vector, tangents: Vector) -> Vector:
    """torch.func.jvp; torch's one-time load of its forward-mode rules warns about its own
    use of torch.jit.script, which says nothing about the model, so that warning is dropped."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*torch.jit.script.*", category=DeprecationWarning)
        _, out = torch.func.jvp(lambda *xs: as_tuple(function(*xs)), tuple(primals), tuple(tangents))
    return tuple(out)


def gram(operator: JacobianOperator) -> Callable[[Vector], Vector]:
    """v -> JᵀJ v."""
    return lambda v: operator.vjp(operator.jvp(v))


def as_tuple(value: torch.Tensor | Sequence[torch.Tensor]) -> Vector:
    return (value,) if isinstance(value, torch.Tensor) else tuple(value)


class FunctionJacobian:
    """J of `function(*inputs)` by torch.func (forward mode for J v, one vjp record for Jᵀu)."""

    def __init__(self, function: Callable[..., object], inputs: Sequence[torch.Tensor]) -> None:
        self._function = lambda *xs: as_tuple(function(*xs))
        self.inputs = tuple(x.detach() for x in inputs)
        outputs, self._vjp = torch.func.vjp(self._function, *self.inputs)
        self.outputs = tuple(o.detach() for o in outputs)

    def jvp(self, tangents: Vector) -> Vector:
        return forward_jvp(self._function, self.inputs, tangents)

    def vjp(self, cotangents: Vector) -> Vector:
        return tuple(self._vjp(tuple(cotangents)))


class GraphJacobian:
    """J between tensors of an existing autograd graph (outputs depend on inputs there)."""

    def __init__(self, outputs: Sequence[torch.Tensor], inputs: Sequence[torch.Tensor]) -> None:
        self.outputs = tuple(outputs)
        self.inputs = tuple(inputs)
        with torch.enable_grad():
            self._probes = tuple(torch.zeros_like(o, requires_grad=True) for o in self.outputs)
            grads = torch.autograd.grad(
                self.outputs, self.inputs, self._probes, create_graph=True, allow_unused=True
            )
        # Jᵀw for a symbolic w: differentiating it along w gives J v.
        self._transposed = tuple(
            (g, x) for g, x in zip(grads, self.inputs) if g is not None and g.requires_grad
        )

    @classmethod
    def of_function(cls, function: Callable[..., object], inputs: Sequence[torch.Tensor]) -> "GraphJacobian":
        """Record `function` at `inputs` in a fresh graph first, its convolutions with a
        backward whose own derivative costs one convolution (`linear_backward`)."""
        with torch.enable_grad(), linear_backward_convolutions():
            leaves = tuple(x.detach().requires_grad_(True) for x in inputs)
            outputs = as_tuple(function(*leaves))
        return cls(outputs, leaves)

    def jvp(self, tangents: Vector) -> Vector:
        if not self._transposed:
            return tuple(torch.zeros_like(o) for o in self.outputs)
        by_input = {id(x): t for x, t in zip(self.inputs, tangents)}
        grads, used = zip(*((g, by_input[id(x)]) for g, x in self._transposed))
        out = torch.autograd.grad(grads, self._probes, used, retain_graph=True, allow_unused=True)
        return tuple(torch.zeros_like(o) if v is None else v for v, o in zip(out, self.outputs))

    def vjp(self, cotangents: Vector) -> Vector:
        out = torch.autograd.grad(
            self.outputs, self.inputs, tuple(cotangents), retain_graph=True, allow_unused=True
        )
        return tuple(torch.zeros_like(x) if g is None else g for g, x in zip(out, self.inputs))

    def close(self) -> None:
        """Drop the double-backward graph (the forward graph belongs to whoever made it)."""
        self._transposed = ()
        self._probes = ()
