"""Statistics of a layer's main weight and its fan-in/fan-out, read off how an op uses it.

The conventions are the ONNX loader's, so the static rules compare like with like:
- conv [C_out, C_in/groups, k...]: fan_in = C_in/groups * prod(k), fan_out = C_out * prod(k);
- transposed conv [C_in, C_out/groups, k...]: fan_in = C_in/groups * prod(k) / prod(strides);
- linear [out, in]: fan_in = in; a matrix product contracts the weight's rows when the weight
  is the right operand (GPT-2's `Conv1D` computes x @ W with W stored (in, out));
- LSTM/GRU/RNN: stats of [W_ih | W_hh] side by side, fan_in = input_size + hidden_size;
- embedding [V, D]: fan_in = 1 (a row is copied as is), fan_out = D;
- norms: stats of the scale (gamma), no fan.
"""
from __future__ import annotations

import math
from typing import Sequence

import torch

from gradlint.loaders.torch.op_kinds import (
    CONV_OPS,
    EMBEDDING_OPS,
    RECURRENT_OPS,
    TRANSPOSED_CONV_OPS,
    base_op,
)
from gradlint.model import WeightStats

# Argument positions of stride and groups in aten.conv_transpose{1,2,3}d.
_TRANSPOSED_STRIDE, _TRANSPOSED_GROUPS = 3, 6


def fan_in_out(
    op: str, position: int, shape: tuple[int, ...], scalars: Sequence[object] = ()
) -> tuple[int | None, int | None]:
    """Fan-in and fan-out of a weight of `shape` read at argument `position` of `op`."""
    op = base_op(op)
    if len(shape) < 2:
        return None, None
    if op in EMBEDDING_OPS:
        return 1, shape[1]
    if op in TRANSPOSED_CONV_OPS:
        return _transposed_fans(shape, scalars)
    if op in CONV_OPS or op == "linear" or op in RECURRENT_OPS:
        receptive = math.prod(shape[2:])
        return shape[1] * receptive, shape[0] * receptive
    right_operand = {"addmm": 2, "baddbmm": 2}.get(op, 1)
    if position == right_operand:
        return shape[-2], shape[-1]
    return shape[-1], shape[-2]


def _transposed_fans(shape: tuple[int, ...], scalars: Sequence[object]) -> tuple[int, int]:
    groups = _scalar(scalars, _TRANSPOSED_GROUPS, 1)
    strides = _scalar(scalars, _TRANSPOSED_STRIDE, 1)
    stride_product = math.prod(strides) if isinstance(strides, (list, tuple)) else int(strides)
    receptive = math.prod(shape[2:])
    fan_in = max(1, round((shape[0] // groups) * receptive / max(stride_product, 1)))
    return fan_in, shape[1] * groups * receptive


def _scalar(scalars: Sequence[object], index: int, default: object) -> object:
    value = scalars[index] if index < len(scalars) else None
    return default if value is None else value


def recurrent_matrix(input_weight: torch.Tensor, hidden_weight: torch.Tensor | None) -> torch.Tensor:
    """[W_ih | W_hh]: the matrix an RNN applies to [x_t, h_{t-1}]."""
    if hidden_weight is None or hidden_weight.shape[0] != input_weight.shape[0]:
        return input_weight
    return torch.cat([input_weight.detach(), hidden_weight.detach()], dim=1)


def weight_stats(tensor: torch.Tensor, fan_in: int | None) -> WeightStats:
    """Mean, std (population), std * sqrt(fan_in), |max| and zero fraction, in float64."""
    values = tensor.detach().to(device="cpu", dtype=torch.float64).flatten()
    if values.numel() == 0:
        return WeightStats(tuple(tensor.shape), 0.0, 0.0, 0.0, 0.0, 0.0, True)
    std = float(values.std(correction=0)) if values.numel() > 1 else 0.0
    return WeightStats(
        shape=tuple(tensor.shape),
        mean=float(values.mean()),
        std=std,
        scaled_std=std * math.sqrt(fan_in) if fan_in else std,
        abs_max=float(values.abs().max()),
        zero_fraction=float((values == 0).double().mean()),
        finite=bool(torch.isfinite(values).all()),
    )
