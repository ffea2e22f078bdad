"""Attention (opset 23; opset 24 adds nonpad_kv_seqlen): what the dynamo exporter emits for
`scaled_dot_product_attention` when asked for opset 23 or newer.

Computed as explicit math rather than F.scaled_dot_product_attention, so gradients are
plain autograd on any device and the optional intermediate output (qk_matmul_output) exists.
Q, K, V are 4-D (batch, heads, sequence, head size) or 3-D (batch, sequence, heads * head
size, with q_num_heads/kv_num_heads given). Grouped-query attention shares each K/V head
among q_num_heads / kv_num_heads consecutive query heads. A boolean mask marks the positions
that take part; a float mask is added to the scores; `is_causal` lets query i see keys up to
i plus the number of cached keys. Where the spec text and onnxruntime differ (softcap before
the mask, zero output for a query that sees no key, numbering of qk_matmul_output_mode),
this follows onnxruntime and onnx's reference implementation, which agree.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from gradlint.loaders.onnx.ops.registry import OpContext, onnx_op, optional_input


@onnx_op("Attention")
def attention(ctx: OpContext, inputs: list, attrs: dict) -> list:
    q, k, v = inputs[0], inputs[1], inputs[2]
    three_d = q.dim() == 3
    if three_d:
        q = _split_heads(q, attrs["q_num_heads"])
        k = _split_heads(k, attrs["kv_num_heads"])
        v = _split_heads(v, attrs["kv_num_heads"])
    past_key, past_value = optional_input(inputs, 4), optional_input(inputs, 5)
    present_key = torch.cat([past_key, k], dim=2) if past_key is not None else k
    present_value = torch.cat([past_value, v], dim=2) if past_value is not None else v
    scale = attrs.get("scale", 1.0 / math.sqrt(q.shape[-1]))
    keys = _share_heads(present_key, q.shape[1])
    qk = torch.matmul(q, keys.transpose(-1, -2)) * scale
    softcap = attrs.get("softcap", 0.0)
    # Softcap before the mask, so masked scores stay -inf (onnxruntime and the reference agree).
    capped = softcap * torch.tanh(qk / softcap) if softcap > 0 else qk
    past = past_key.shape[2] if past_key is not None else 0
    bias = _bias(ctx, inputs, attrs, capped, past)
    # A query that may see no key gets zero weights, not the NaN of softmax over all -inf;
    # its bias is zeroed first so that neither the forward nor the backward pass sees NaN.
    blind = torch.isneginf(bias.amax(dim=-1, keepdim=True))
    biased = capped + torch.where(blind, torch.zeros_like(bias), bias)
    weights = torch.where(blind, torch.zeros_like(biased), torch.softmax(biased, dim=-1))
    y = torch.matmul(weights, _share_heads(present_value, q.shape[1]))
    if three_d:
        y = y.transpose(1, 2).reshape(y.shape[0], y.shape[2], -1)
    # qk_matmul_output as onnxruntime numbers and fills it: raw, softcapped, plus mask (the
    # lowest float where masked), after softmax
    with_mask = torch.clamp(capped + bias, min=torch.finfo(capped.dtype).min)
    stages = [qk, capped, with_mask, weights]
    outputs = [y, present_key, present_value, stages[attrs.get("qk_matmul_output_mode", 0)]]
    return outputs[: max(ctx.num_outputs, 1)]


def _split_heads(x: torch.Tensor, heads: int) -> torch.Tensor:
    """(batch, sequence, heads * size) -> (batch, heads, sequence, size)."""
    batch, sequence, hidden = x.shape
    return x.reshape(batch, sequence, heads, hidden // heads).transpose(1, 2)


def _share_heads(x: torch.Tensor, q_heads: int) -> torch.Tensor:
    return x if x.shape[1] == q_heads else x.repeat_interleave(q_heads // x.shape[1], dim=1)


def _bias(ctx: OpContext, inputs: list, attrs: dict, scores: torch.Tensor, past: int):
    """What is added to the scores: 0 where a query may attend a key, -inf where not (or the
    float mask as given), from the mask, causality and (opset 24) per-sample key lengths."""
    q_len, kv_len = scores.shape[-2], scores.shape[-1]
    bias = torch.zeros(scores.shape[-2:], dtype=scores.dtype, device=scores.device)
    mask = optional_input(inputs, 3)
    if mask is not None:
        if mask.shape[-1] < kv_len:  # a short mask leaves the keys past its end masked
            fill = False if mask.dtype == torch.bool else -math.inf
            mask = F.pad(mask, (0, kv_len - mask.shape[-1]), value=fill)
        bias = bias + (_blocked(~mask, scores) if mask.dtype == torch.bool else mask)
    lengths = optional_input(inputs, 6) if ctx.opset >= 24 else None
    if attrs.get("is_causal", 0):
        # Bottom-right aligned: query i sees keys up to i + the number of keys before it.
        offset = past
        if lengths is not None and not past:  # an external cache: its valid keys precede
            offset = lengths.reshape(-1, 1, 1, 1) - q_len
        rows = torch.arange(q_len, device=scores.device).unsqueeze(1)
        bias = bias + _blocked(torch.arange(kv_len, device=scores.device) > rows + offset, scores)
    if lengths is not None:
        padded = torch.arange(kv_len, device=scores.device) >= lengths.reshape(-1, 1, 1, 1)
        bias = bias + _blocked(padded, scores)
    return bias


def _blocked(blocked: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    zero = torch.zeros((), dtype=like.dtype, device=like.device)
    minus_inf = torch.tensor(-math.inf, dtype=like.dtype, device=like.device)
    return torch.where(blocked, minus_inf, zero)
