"""Normalization: BatchNormalization (batch or running statistics), Instance-, LayerNorm.

BatchNormalization follows the executor's norm mode: 'batch' normalizes with the batch's own
(biased) statistics as training would, without touching the stored ones; 'running' uses the
stored mean and variance, as inference does — unless the node itself says
`training_mode=1` (opset 14+, training-mode exports), whose inference semantics are the batch
statistics too, so parity with onnxruntime holds. Before opset 9, `spatial=0`
stores statistics per activation (shape [C, D1, ...]) instead of per channel.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from gradlint.loaders.onnx.ops.registry import OpContext, onnx_op, optional_input


def _per_channel(t: torch.Tensor, rank: int) -> torch.Tensor:
    """A [C] or [C, D1, ...] statistic shaped to broadcast against an [N, C, D1, ...] input."""
    return t.reshape(1, *t.shape, *[1] * (rank - 1 - t.dim()))


@onnx_op("BatchNormalization")
def batch_normalization(ctx: OpContext, inputs: list, attrs: dict) -> list:
    x, scale, bias, mean, var = inputs[:5]
    eps = attrs.get("epsilon", 1e-5)
    per_activation = ctx.opset < 9 and attrs.get("spatial", 1) == 0
    if ctx.norm_mode == "batch" or attrs.get("training_mode", 0) == 1:
        y = _batch_statistics_norm(x, scale, bias, eps, per_activation)
    else:
        # folded into one scale and shift: two full-size ops instead of four
        factor = scale * torch.rsqrt(var + eps)
        shift = bias - mean * factor
        y = x * _per_channel(factor, x.dim()) + _per_channel(shift, x.dim())
    # Optional extra outputs (running/saved statistics): the stored ones, left unchanged.
    extras = [mean, var, mean, var][: max(ctx.num_outputs - 1, 0)]
    return [y, *extras]


def _batch_statistics_norm(x, scale, bias, eps: float, per_activation: bool) -> torch.Tensor:
    """Training-form BN from the batch's own (biased) statistics; no state is touched."""
    count = x.shape[0] if per_activation else x.numel() // max(x.shape[1], 1)
    if not per_activation and count > 1 and eps > 0:  # torch refuses eps <= 0
        return F.batch_norm(x, None, None, scale, bias, training=True, momentum=0.0, eps=eps)
    axes = [0] if per_activation else [0, *range(2, x.dim())]
    batch_mean = x.mean(dim=axes, keepdim=True)
    batch_var = ((x - batch_mean) ** 2).mean(dim=axes, keepdim=True)
    normalized = (x - batch_mean) * torch.rsqrt(batch_var + eps)
    return normalized * _per_channel(scale, x.dim()) + _per_channel(bias, x.dim())


@onnx_op("InstanceNormalization")
def instance_normalization(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
    x, scale, bias = inputs[:3]
    axes = list(range(2, x.dim()))
    mean = x.mean(dim=axes, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=axes, keepdim=True)
    normalized = (x - mean) / torch.sqrt(var + attrs.get("epsilon", 1e-5))
    return normalized * _per_channel(scale, x.dim()) + _per_channel(bias, x.dim())


@onnx_op("LayerNormalization")
def layer_normalization(ctx: OpContext, inputs: list, attrs: dict) -> list:
    x, scale, bias = inputs[0], inputs[1], optional_input(inputs, 2)
    axis = attrs.get("axis", -1)
    axis = axis + x.dim() if axis < 0 else axis
    axes = list(range(axis, x.dim()))
    mean = x.mean(dim=axes, keepdim=True)
    var = ((x - mean) ** 2).mean(dim=axes, keepdim=True)
    inv_std = torch.rsqrt(var + attrs.get("epsilon", 1e-5))
    y = (x - mean) * inv_std * scale
    if bias is not None:
        y = y + bias
    return [y, mean, inv_std][: max(ctx.num_outputs, 1)]


@onnx_op("ImageScaler")
def image_scaler(ctx: OpContext, inputs: list, attrs: dict) -> torch.Tensor:
    x = inputs[0]
    y = x * attrs.get("scale", 1.0)
    bias = attrs.get("bias")
    if bias is not None:
        y = y + torch.tensor(bias, dtype=x.dtype, device=x.device).reshape(1, -1, *[1] * (x.dim() - 2))
    return y
