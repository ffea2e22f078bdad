"""The op table: registration rules and the ops the executor must cover."""
from __future__ import annotations

import pytest
import torch

from gradlint.loaders.onnx.ops import lookup, supported_ops
from gradlint.loaders.onnx.ops.registry import ints, onnx_op, optional_input

# The default-domain ops the executor's own modules implement (helper ops live in extra*.py).
CORE_OPS = """
Add Sub Mul Div Pow Neg Abs Sqrt Reciprocal Exp Log Erf Tanh Sigmoid Relu LeakyRelu Elu Selu
Softplus HardSigmoid HardSwish PRelu Clip Min Max Sum Mean Equal Not Less Greater LessOrEqual
GreaterOrEqual And Or Where Cast CastLike Identity Constant ConstantOfShape Shape Size Reshape
Flatten Transpose Squeeze Unsqueeze Concat Split Slice Gather Expand Range Pad ArgMax ArgMin
ReduceMean ReduceProd ReduceSum ReduceMax ReduceMin Softmax LogSoftmax MatMul Gemm Conv MaxPool
AveragePool GlobalAveragePool GlobalMaxPool BatchNormalization InstanceNormalization
LayerNormalization ImageScaler Dropout LSTM GRU RNN If Loop
""".split()


def test_every_core_op_is_registered():
    missing = [op for op in CORE_OPS if (op, "") not in supported_ops()]
    assert missing == []


def test_lookup_treats_ai_onnx_as_the_default_domain():
    assert lookup("Relu", "ai.onnx") is lookup("Relu", "") is not None
    assert lookup("Relu", "ai.onnx.ml") is None
    assert lookup("NoSuchOp") is None


def test_duplicate_registration_raises():
    with pytest.raises(ValueError, match="twice"):
        onnx_op("Relu")(lambda ctx, inputs, attrs: inputs[0])


def test_optional_input_and_ints():
    assert optional_input([torch.ones(1)], 3) is None
    assert optional_input([None, torch.ones(1)], 0) is None
    assert ints(torch.tensor([[2, -1]])) == [2, -1]
    assert ints(5) == [5]
