"""What an aten op or a module class is, for grouping ops into layers.

Names are aten op names without namespace or overload (`conv2d`, `add`); in-place variants
(`relu_`, `add_`) classify like their functional forms. Activation and normalization names
are those the ONNX loader uses (`relu`, `gelu`, `silu`; `batchnorm`, `rmsnorm`), so rules
read one vocabulary whatever the model's format.
"""
from __future__ import annotations

TRANSPOSED_CONV_OPS = frozenset({"conv_transpose1d", "conv_transpose2d", "conv_transpose3d"})
CONV_OPS = frozenset({
    "conv1d", "conv2d", "conv3d", "convolution", "_convolution",
    "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
})
# Matrix products that make a LINEAR layer when one operand is a parameter.
MATMUL_OPS = frozenset({"linear", "addmm", "mm", "matmul", "bmm", "baddbmm"})
EMBEDDING_OPS = frozenset({"embedding", "embedding_bag", "_embedding_bag"})
RECURRENT_OPS = frozenset({"lstm", "gru", "rnn_tanh", "rnn_relu"})
# Normalization names follow the ONNX loader's vocabulary (`batchnorm`, `layernorm`, ...).
NORM_OPS = {
    "batch_norm": "batchnorm",
    "native_batch_norm": "batchnorm",
    "_native_batch_norm_legit": "batchnorm",
    "_native_batch_norm_legit_no_training": "batchnorm",
    "_native_batch_norm_legit_functional": "batchnorm",
    "layer_norm": "layernorm",
    "native_layer_norm": "layernorm",
    "group_norm": "groupnorm",
    "native_group_norm": "groupnorm",
    "instance_norm": "instancenorm",
    "rms_norm": "rmsnorm",
    "_fused_rms_norm": "rmsnorm",
}
POOL_OPS = frozenset({
    "max_pool1d", "max_pool2d", "max_pool3d", "max_pool2d_with_indices",
    "max_pool3d_with_indices", "avg_pool1d", "avg_pool2d", "avg_pool3d",
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
    "_adaptive_avg_pool2d", "_adaptive_avg_pool3d", "adaptive_max_pool1d",
    "adaptive_max_pool2d", "adaptive_max_pool3d",
})
ACTIVATION_OPS = {
    "relu": "relu", "gelu": "gelu", "tanh": "tanh", "sigmoid": "sigmoid", "silu": "silu",
    "elu": "elu", "selu": "selu", "celu": "celu", "leaky_relu": "leaky_relu",
    "hardtanh": "hardtanh", "relu6": "relu6", "softplus": "softplus", "mish": "mish",
    "hardswish": "hardswish", "hardsigmoid": "hardsigmoid", "prelu": "prelu",
    "_prelu_kernel": "prelu", "glu": "glu", "softsign": "softsign", "logsigmoid": "logsigmoid",
}
# Ops that move or relabel data without computing on it: activations, norms and merges are
# looked for through them.
TRANSPARENT_OPS = frozenset({
    "view", "_unsafe_view", "reshape", "permute", "transpose", "t", "contiguous", "clone",
    "dropout", "native_dropout", "feature_dropout", "alpha_dropout", "flatten", "squeeze",
    "unsqueeze", "expand", "to", "_to_copy", "detach", "alias", "getitem", "type_as",
    "lift_fresh_copy", "view_as", "unflatten", "movedim", "_assert_tensor_metadata",
})
MERGE_OPS = {
    "add": "add", "cat": "cat", "concat": "cat", "concatenate": "cat", "stack": "cat",
    "scaled_dot_product_attention": "attention",
    "_scaled_dot_product_flash_attention": "attention",
    "_scaled_dot_product_efficient_attention": "attention",
    "_scaled_dot_product_flash_attention_for_cpu": "attention",
    "matmul": "matmul", "bmm": "matmul", "mm": "matmul",
}

# Checked in order against the lowercased class name: more specific names first.
_ACTIVATION_CLASSES = (
    ("leakyrelu", "leaky_relu"), ("relu6", "relu6"), ("prelu", "prelu"), ("relu", "relu"),
    ("gelu", "gelu"), ("hardswish", "hardswish"), ("hardsigmoid", "hardsigmoid"),
    ("hardtanh", "hardtanh"), ("silu", "silu"), ("swish", "silu"), ("mish", "mish"),
    ("tanh", "tanh"), ("logsigmoid", "logsigmoid"), ("sigmoid", "sigmoid"), ("selu", "selu"),
    ("celu", "celu"), ("elu", "elu"), ("softplus", "softplus"), ("softsign", "softsign"),
)
_NORM_CLASSES = (
    ("rmsnorm", "rmsnorm"), ("batchnorm", "batchnorm"), ("groupnorm", "groupnorm"),
    ("instancenorm", "instancenorm"), ("layernorm", "layernorm"),
)


def base_op(name: str) -> str:
    """`relu_` -> `relu`: in-place variants classify like the functional op."""
    if name.endswith("_") and not name.endswith("__") and len(name) > 1:
        return name[:-1]
    return name


def activation_of_op(name: str) -> str | None:
    return ACTIVATION_OPS.get(base_op(name))


def norm_of_op(name: str) -> str | None:
    return NORM_OPS.get(base_op(name))


def activation_of_class(class_name: str) -> str | None:
    lowered = class_name.lower()
    for fragment, activation in _ACTIVATION_CLASSES:
        if fragment in lowered:
            return activation
    return None


def norm_of_class(class_name: str) -> str | None:
    """`LlamaRMSNorm` -> `rmsnorm`; any other `*Norm*` class -> its lowercased name."""
    lowered = class_name.lower()
    for fragment, norm in _NORM_CLASSES:
        if fragment in lowered:
            return norm
    return lowered if "norm" in lowered else None


def is_transparent(name: str) -> bool:
    return base_op(name) in TRANSPARENT_OPS


def is_dropout_class(class_name: str) -> bool:
    return "dropout" in class_name.lower()
