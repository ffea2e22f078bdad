"""One time step of the ONNX LSTM, GRU and RNN cells, and their activation functions."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import torch
import torch.nn.functional as F

# name -> (function of x, alpha, beta; how many of alpha/beta it takes; default alpha, beta)
_ACTIVATIONS: dict[str, tuple[Callable, int, float, float]] = {
    "relu": (lambda x, a, b: torch.relu(x), 0, 0.0, 0.0),
    "tanh": (lambda x, a, b: torch.tanh(x), 0, 0.0, 0.0),
    "sigmoid": (lambda x, a, b: torch.sigmoid(x), 0, 0.0, 0.0),
    "affine": (lambda x, a, b: a * x + b, 2, 1.0, 0.0),
    "leakyrelu": (lambda x, a, b: F.leaky_relu(x, a), 1, 0.01, 0.0),
    "thresholdedrelu": (lambda x, a, b: torch.where(x > a, x, torch.zeros_like(x)), 1, 1.0, 0.0),
    "scaledtanh": (lambda x, a, b: a * torch.tanh(b * x), 2, 1.0, 1.0),
    "hardsigmoid": (lambda x, a, b: torch.clamp(a * x + b, 0.0, 1.0), 2, 0.2, 0.5),
    "elu": (lambda x, a, b: F.elu(x, a), 1, 1.0, 0.0),
    "softsign": (lambda x, a, b: x / (1 + x.abs()), 0, 0.0, 0.0),
    "softplus": (lambda x, a, b: F.softplus(x), 0, 0.0, 0.0),
}


@dataclass(frozen=True)
class Activation:
    name: str
    alpha: float
    beta: float

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return _ACTIVATIONS[self.name][0](x, self.alpha, self.beta)


def parse_activations(
    names: Sequence[str], alphas: Sequence[float] | None, betas: Sequence[float] | None
) -> list[Activation]:
    """Activations with their alpha/beta, consumed in order by the ones that take them."""
    alphas, betas = list(alphas or []), list(betas or [])
    result = []
    for name in names:
        key = name.lower()
        if key not in _ACTIVATIONS:
            raise ValueError(f"recurrent activation {name!r} is not an ONNX activation")
        _, takes, alpha, beta = _ACTIVATIONS[key]
        if takes >= 1 and alphas:
            alpha = alphas.pop(0)
        if takes >= 2 and betas:
            beta = betas.pop(0)
        result.append(Activation(key, alpha, beta))
    return result


def _clip(x: torch.Tensor, clip: float | None) -> torch.Tensor:
    return torch.clamp(x, -clip, clip) if clip is not None else x


def _recurrent(h: torch.Tensor, r: torch.Tensor, rb: torch.Tensor | None) -> torch.Tensor:
    out = torch.matmul(h, r.transpose(0, 1))
    return out + rb if rb is not None else out


def lstm_step(gates_x, h, c, d, clip: float | None, coupled: bool) -> tuple:
    f_act, g_act, h_act = d.activations
    gates = gates_x + _recurrent(h, d.r, d.rb)
    i, o, f, cand = gates.chunk(4, dim=-1)
    if d.p is not None:
        p_i, p_o, p_f = d.p.chunk(3)
        i, f = i + p_i * c, f + p_f * c
    i = f_act(_clip(i, clip))
    f = 1 - i if coupled else f_act(_clip(f, clip))
    new_c = f * c + i * g_act(_clip(cand, clip))
    if d.p is not None:
        o = o + p_o * new_c
    o = f_act(_clip(o, clip))
    return o * h_act(new_c), new_c


def gru_step(gates_x, h, d, clip: float | None, linear_before_reset: bool) -> torch.Tensor:
    f_act, g_act = d.activations
    hidden = h.shape[-1]
    x_z, x_r, x_h = gates_x.chunk(3, dim=-1)
    rb = d.rb if d.rb is not None else None
    rec = _recurrent(h, d.r[: 2 * hidden], rb[: 2 * hidden] if rb is not None else None)
    rec_z, rec_r = rec.chunk(2, dim=-1)
    z = f_act(_clip(x_z + rec_z, clip))
    r = f_act(_clip(x_r + rec_r, clip))
    rb_h = rb[2 * hidden:] if rb is not None else None
    if linear_before_reset:
        cand = x_h + r * _recurrent(h, d.r[2 * hidden:], rb_h)
    else:
        cand = x_h + _recurrent(r * h, d.r[2 * hidden:], rb_h)
    cand = g_act(_clip(cand, clip))
    return (1 - z) * cand + z * h


def rnn_step(gates_x, h, d, clip: float | None) -> torch.Tensor:
    (act,) = d.activations
    return act(_clip(gates_x + _recurrent(h, d.r, d.rb), clip))
