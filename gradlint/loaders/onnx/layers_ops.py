"""Which ONNX ops start a layer, which are absorbed into one, and what they are called.

A layer (DESIGN.md) is a weight-bearing op plus the elementwise ops that follow it. These
tables say how each op type takes part; `layers_segment` applies them to a graph.
"""
from __future__ import annotations

from gradlint.model import LayerKind

CONV_OPS = frozenset({"Conv", "ConvTranspose", "DeformConv"})
LINEAR_OPS = frozenset({"Gemm", "MatMul", "Einsum"})
RECURRENT_OPS = frozenset({"LSTM", "GRU", "RNN"})
# BatchNormalization is folded into a preceding conv/linear layer, a NORM layer otherwise.
NORM_OPS = {
    "BatchNormalization": "batchnorm",
    "InstanceNormalization": "instancenorm",
    "LayerNormalization": "layernorm",
    "GroupNormalization": "groupnorm",
    "SimplifiedLayerNormalization": "rmsnorm",
    "SkipLayerNormalization": "layernorm",
    "RMSNormalization": "rmsnorm",
    "LpNormalization": "lpnorm",
    "MeanVarianceNormalization": "mvn",
    "LRN": "lrn",
}
POOL_OPS = frozenset(
    {"MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "LpPool", "GlobalLpPool",
     "MaxRoiPool", "RoiAlign"}
)
REDUCE_OPS = frozenset(
    {"ReduceMean", "ReduceMax", "ReduceMin", "ReduceSum", "ReduceProd", "ReduceL1", "ReduceL2",
     "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"}
)
MERGE_ADD_OPS = frozenset({"Add", "Sum"})

ACTIVATIONS = {
    "Relu": "relu",
    "LeakyRelu": "leaky_relu",
    "PRelu": "prelu",
    "Sigmoid": "sigmoid",
    "Tanh": "tanh",
    "Gelu": "gelu",
    "FastGelu": "gelu",
    "BiasGelu": "gelu",
    "HardSigmoid": "hardsigmoid",
    "HardSwish": "hardswish",
    "Elu": "elu",
    "Selu": "selu",
    "Celu": "celu",
    "Softplus": "softplus",
    "Softsign": "softsign",
    "Softmax": "softmax",
    "LogSoftmax": "log_softmax",
    "Mish": "mish",
    "ThresholdedRelu": "thresholded_relu",
    "Swish": "silu",
    "Sin": "sin",
    "Erf": "erf",  # becomes gelu once the x * (1 + erf(x / sqrt 2)) product is seen
}
# x * f(x) with f the key is the activation named by the value.
GATED_ACTIVATIONS = {"sigmoid": "silu", "hardsigmoid": "hardswish", "erf": "gelu", "tanh": "gelu"}


def weight_kind(op_type: str) -> LayerKind | None:
    """The kind of layer a weight-bearing op starts (MatMul only with a constant operand)."""
    if op_type in CONV_OPS:
        return LayerKind.CONV
    if op_type in LINEAR_OPS:
        return LayerKind.LINEAR
    if op_type in RECURRENT_OPS:
        return LayerKind.RECURRENT
    return None


def clip_activation(low: float | None, high: float | None) -> str:
    if low == 0 and high == 6:
        return "relu6"
    if low == 0 and high is None:
        return "relu"
    return "clip"
