"""A layer as a function of its distinct differentiable inputs, at the probe point or a slice.

The tap hands a layer's tensors in call order; some are constants (masks, ids, shape
tensors) and one tensor may be passed twice (self-attention's query, key and value). The
Jacobian is taken with respect to each distinct float tensor on the gradient path, so
`LayerCall` maps its arguments back into the full call.

`narrowed` slices the call along some axes (two samples for the structure tests, one sample
for a layer whose Jacobian is the same for all): every tensor of the call with the full size
along that axis is sliced, and the slice is accepted only when the layer runs on it and
answers with the correspondingly sliced output shape (on the leading axis, also regrouped:
128 rows in, [8, 16] out, for a layer that reshapes tokens flattened with the batch). Layers
with shapes frozen at the probe batch (ONNX reshapes to a constant shape) refuse, and are
then measured at full size.
"""
from __future__ import annotations

from typing import Callable, Mapping, Sequence

import torch

from gradlint.analysis.probe.capture import LayerRecord


class LayerCall:
    def __init__(
        self,
        function: Callable[..., torch.Tensor],
        tensors: Sequence[torch.Tensor],
        differentiable: Sequence[int],
        output_shape: torch.Size,
    ) -> None:
        self.function = function
        self.tensors = tuple(tensors)
        self.output_shape = output_shape
        unique: dict[int, int] = {}
        self.slot_of: dict[int, int] = {}
        for position in differentiable:
            self.slot_of[position] = unique.setdefault(id(self.tensors[position]), len(unique))
        first = {slot: pos for pos, slot in reversed(list(self.slot_of.items()))}
        self.primals = tuple(self.tensors[first[s]].detach() for s in range(len(unique)))

    @classmethod
    def of_record(cls, function: Callable[..., torch.Tensor], record: LayerRecord) -> "LayerCall":
        return cls(function, record.inputs, record.differentiable, record.output.shape)

    def __call__(self, *primals: torch.Tensor) -> torch.Tensor:
        arguments = list(self.tensors)
        for position, slot in self.slot_of.items():
            arguments[position] = primals[slot]
        return self.function(*arguments)

    def narrowed(
        self, lengths: Mapping[int, int], full_output: torch.Tensor | None = None
    ) -> "LayerCall | None":
        """The same layer on the first `length` entries along each axis, if it accepts that;
        with `full_output`, also only if the slice computes that output's leading rows."""
        reference = self.primals[0] if self.primals else None
        if reference is None or any(a >= reference.dim() for a in lengths):
            return None
        if all(reference.shape[a] <= n for a, n in lengths.items()):
            return None
        sliced: dict[int, object] = {}  # one slice per distinct tensor keeps shared inputs shared
        tensors = [
            sliced.setdefault(id(t), _slice(t, reference.shape, lengths)) for t in self.tensors
        ]
        expected = list(self.output_shape)
        for axis, length in lengths.items():
            if axis >= len(expected):
                return None
            if expected[axis] == reference.shape[axis]:
                expected[axis] = min(length, expected[axis])
            elif axis == 0 and _regrouped(reference.shape[0], expected[0], length) is not None:
                expected[0] = _regrouped(reference.shape[0], expected[0], length)
            else:
                return None
        positions = sorted(self.slot_of)
        candidate = LayerCall(self.function, tensors, positions, torch.Size(expected))
        try:
            with torch.no_grad():
                output = candidate(*candidate.primals)
        except Exception:  # a layer that cannot run on a slice is measured whole
            return None
        if tuple(output.shape) != tuple(expected):
            return None
        if full_output is not None and not _leading_rows_of(output, full_output):
            return None
        return candidate


def _leading_rows_of(output: torch.Tensor, full_output: torch.Tensor) -> bool:
    rows = output.shape[0] if output.dim() else 0
    return rows > 0 and same_values(output, full_output.detach()[:rows])


def _regrouped(rows_in: int, rows_out: int, length: int) -> int | None:
    """Output rows for `length` input rows when the layer regroups its leading axis (tokens
    flattened with the batch on one side, [batch, tokens] on the other), else None."""
    if rows_out and rows_in % rows_out == 0 and length % (rows_in // rows_out) == 0:
        return length // (rows_in // rows_out)
    if rows_in and rows_out % rows_in == 0:
        return length * (rows_out // rows_in)
    return None


def same_values(output: torch.Tensor, reference: torch.Tensor, tolerance: float = 1e-4) -> bool:
    """Equal shapes and max|a - b| within `tolerance` of max|reference| (the parity measure)."""
    if output.shape != reference.shape:
        return False
    if output.numel() == 0:
        return True
    scale = max(float(reference.abs().max()), 1e-30)
    return float((output - reference).abs().max()) <= tolerance * scale


def _slice(tensor: object, full: torch.Size, lengths: Mapping[int, int]) -> object:
    if not isinstance(tensor, torch.Tensor):
        return tensor
    for axis, length in lengths.items():
        if tensor.dim() > axis and tensor.shape[axis] == full[axis]:
            tensor = tensor.narrow(axis, 0, min(length, full[axis]))
    return tensor
