"""LSTM, GRU and RNN per the ONNX spec, unrolled over time steps in torch.

Weights are W [dirs, gates*H, I], R [dirs, gates*H, H], B [dirs, 2*gates*H]; gate order is
iofc for LSTM, zrh for GRU. The input projection runs once for all steps; only the
recurrence loops. With `sequence_lens`, steps past a sequence's end leave its state as it is
and write zeros to Y, which gives the spec's result for forward and reverse directions.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch

from gradlint.loaders.onnx.ops.recurrent_cells import (
    Activation,
    gru_step,
    lstm_step,
    parse_activations,
    rnn_step,
)
from gradlint.loaders.onnx.ops.registry import OpContext, onnx_op, optional_input

_DEFAULT_ACTIVATIONS = {"LSTM": ["Sigmoid", "Tanh", "Tanh"], "GRU": ["Sigmoid", "Tanh"],
                        "RNN": ["Tanh"]}
_GATES = {"LSTM": 4, "GRU": 3, "RNN": 1}


@dataclass(frozen=True)
class Direction:
    """One direction's weights and settings."""

    w: torch.Tensor  # [gates*H, I]
    r: torch.Tensor  # [gates*H, H]
    wb: torch.Tensor | None
    rb: torch.Tensor | None
    p: torch.Tensor | None
    activations: list[Activation]
    reverse: bool


def _directions(op: str, inputs: list, attrs: dict) -> list[Direction]:
    w, r = inputs[1], inputs[2]
    b = optional_input(inputs, 3)
    p = optional_input(inputs, 7) if op == "LSTM" else None
    direction = attrs.get("direction", "forward")
    count = 2 if direction == "bidirectional" else 1
    names = list(attrs.get("activations") or _DEFAULT_ACTIVATIONS[op] * count)
    acts = parse_activations(names, attrs.get("activation_alpha"), attrs.get("activation_beta"))
    per_dir = len(acts) // count
    gates_h = w.shape[1]
    result = []
    for d in range(count):
        wb = b[d, :gates_h] if b is not None else None
        rb = b[d, gates_h:] if b is not None else None
        reverse = direction == "reverse" or d == 1
        result.append(Direction(w[d], r[d], wb, rb, p[d] if p is not None else None,
                                acts[d * per_dir:(d + 1) * per_dir], reverse))
    return result


def _run(op: str, ctx: OpContext, inputs: list, attrs: dict) -> list:
    x = inputs[0]
    layout = attrs.get("layout", 0)
    if layout:
        x = x.transpose(0, 1)  # to [seq, batch, input]
    seq_lens = optional_input(inputs, 4)
    h0, c0 = optional_input(inputs, 5), optional_input(inputs, 6)
    if layout:
        h0 = h0.transpose(0, 1) if h0 is not None else None
        c0 = c0.transpose(0, 1) if c0 is not None else None
    hidden = attrs.get("hidden_size", inputs[2].shape[-1])
    steps, batch = x.shape[0], x.shape[1]
    step_fn = _step_function(op, attrs)
    ys, hs, cs = [], [], []
    for d, direction in enumerate(_directions(op, inputs, attrs)):
        zeros = x.new_zeros(batch, hidden)
        h = h0[d] if h0 is not None else zeros
        c = c0[d] if c0 is not None else zeros
        y, h, c = _unroll(x, direction, h, c, seq_lens, step_fn)
        ys.append(y)
        hs.append(h)
        cs.append(c)
    y = torch.stack(ys, dim=1)  # [seq, dirs, batch, hidden]
    y_h, y_c = torch.stack(hs), torch.stack(cs)
    if layout:
        y, y_h, y_c = y.permute(2, 0, 1, 3), y_h.transpose(0, 1), y_c.transpose(0, 1)
    outputs = [y, y_h, y_c] if op == "LSTM" else [y, y_h]
    return outputs[: max(ctx.num_outputs, 1)]


def _step_function(op: str, attrs: dict) -> Callable:
    clip = attrs.get("clip")
    if op == "LSTM":
        coupled = bool(attrs.get("input_forget", 0))
        return lambda g, h, c, d: lstm_step(g, h, c, d, clip, coupled)
    if op == "GRU":
        before = bool(attrs.get("linear_before_reset", 0))
        return lambda g, h, c, d: (gru_step(g, h, d, clip, before), c)
    return lambda g, h, c, d: (rnn_step(g, h, d, clip), c)


def _unroll(x, direction: Direction, h, c, seq_lens, step_fn) -> tuple:
    projected = torch.matmul(x, direction.w.transpose(0, 1))
    if direction.wb is not None:
        projected = projected + direction.wb
    steps = range(x.shape[0] - 1, -1, -1) if direction.reverse else range(x.shape[0])
    outputs: list[torch.Tensor | None] = [None] * x.shape[0]
    for t in steps:
        new_h, new_c = step_fn(projected[t], h, c, direction)
        if seq_lens is not None:
            alive = (t < seq_lens.to(x.device)).reshape(-1, 1)
            new_h = torch.where(alive, new_h, h)
            new_c = torch.where(alive, new_c, c)
            outputs[t] = torch.where(alive, new_h, torch.zeros_like(new_h))
        else:
            outputs[t] = new_h
        h, c = new_h, new_c
    return torch.stack(outputs), h, c  # type: ignore[arg-type]


@onnx_op("LSTM")
def lstm(ctx: OpContext, inputs: list, attrs: dict) -> list:
    return _run("LSTM", ctx, inputs, attrs)


@onnx_op("GRU")
def gru(ctx: OpContext, inputs: list, attrs: dict) -> list:
    return _run("GRU", ctx, inputs, attrs)


@onnx_op("RNN")
def rnn(ctx: OpContext, inputs: list, attrs: dict) -> list:
    return _run("RNN", ctx, inputs, attrs)
