"""Small ONNX graphs built in code for the reader, input and LayerGraph tests."""
from __future__ import annotations

from pathlib import Path
from typing import Sequence

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

MODELS_DIR = Path(__file__).resolve().parents[3] / ".." / "shared" / "models"
RNG_SEED = 0


def tensor(name: str, array: np.ndarray) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(array), name)


def model(
    nodes: Sequence[onnx.NodeProto],
    inputs: Sequence[onnx.ValueInfoProto],
    outputs: Sequence[str | onnx.ValueInfoProto],
    initializers: Sequence[onnx.TensorProto] = (),
    opset: int = 17,
    ir_version: int = 8,
    extra_opsets: Sequence[tuple[str, int]] = (),
) -> onnx.ModelProto:
    graph = helper.make_graph(
        list(nodes),
        "test",
        list(inputs),
        [helper.make_empty_tensor_value_info(o) if isinstance(o, str) else o for o in outputs],
        list(initializers),
    )
    opsets = [helper.make_opsetid("", opset), *(helper.make_opsetid(d, v) for d, v in extra_opsets)]
    return helper.make_model(graph, opset_imports=opsets, ir_version=ir_version)


def float_input(name: str, dims: Sequence[int | str | None]) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, list(dims))


def int_input(name: str, dims: Sequence[int | str | None], elem: int = TensorProto.INT64) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, elem, list(dims))


def save(proto: onnx.ModelProto, path: Path) -> Path:
    onnx.save(proto, str(path))
    return path


def mlp(widths: Sequence[int] = (8, 16, 16, 4), activation: str = "Relu", std: float = 0.3) -> onnx.ModelProto:
    """Gemm (transB=1, torch layout) + activation per hidden layer, named like torch.onnx."""
    rng = np.random.default_rng(RNG_SEED)
    nodes, inits = [], []
    current = "x"
    for i, (fan_in, fan_out) in enumerate(zip(widths[:-1], widths[1:])):
        weight = (rng.standard_normal((fan_out, fan_in)) * std).astype(np.float32)
        inits += [tensor(f"fc{i}.weight", weight), tensor(f"fc{i}.bias", np.full(fan_out, 0.1, np.float32))]
        nodes.append(helper.make_node("Gemm", [current, f"fc{i}.weight", f"fc{i}.bias"], [f"h{i}"],
                                      name=f"/fc{i}/Gemm", transB=1))
        current = f"h{i}"
        if i < len(widths) - 2:
            nodes.append(helper.make_node(activation, [current], [f"a{i}"], name=f"/act{i}/{activation}"))
            current = f"a{i}"
    nodes.append(helper.make_node("Identity", [current], ["y"], name="/out/Identity"))
    return model(nodes, [float_input("x", ["batch", widths[0]])], ["y"], inits)


def conv_weight(c_out: int, c_in: int, k: int, std: float = 0.1) -> np.ndarray:
    rng = np.random.default_rng(RNG_SEED)
    return (rng.standard_normal((c_out, c_in, k, k)) * std).astype(np.float32)


def conv_bn_relu(channels: int = 4) -> onnx.ModelProto:
    """Conv -> BatchNormalization -> Relu -> GlobalAveragePool -> Flatten -> Gemm."""
    inits = [
        tensor("conv.weight", conv_weight(channels, 3, 3)),
        tensor("bn.scale", np.ones(channels, np.float32)),
        tensor("bn.bias", np.zeros(channels, np.float32)),
        tensor("bn.mean", np.zeros(channels, np.float32)),
        tensor("bn.var", np.ones(channels, np.float32)),
        tensor("fc.weight", np.full((channels, 2), 0.5, np.float32)),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "conv.weight"], ["c"], name="/conv/Conv", pads=[1, 1, 1, 1]),
        helper.make_node("BatchNormalization", ["c", "bn.scale", "bn.bias", "bn.mean", "bn.var"], ["b"],
                         name="/bn/BatchNormalization"),
        helper.make_node("Relu", ["b"], ["r"], name="/relu/Relu"),
        helper.make_node("GlobalAveragePool", ["r"], ["p"], name="/pool/GlobalAveragePool"),
        helper.make_node("Flatten", ["p"], ["f"], name="/flatten/Flatten"),
        helper.make_node("Gemm", ["f", "fc.weight"], ["y"], name="/fc/Gemm"),
    ]
    return model(nodes, [float_input("x", ["N", 3, 8, 8])], ["y"], inits)


def residual_block(channels: int = 4) -> onnx.ModelProto:
    """x -> conv1 -> relu -> conv2 -> Add(x) -> relu: one ADD merge of two paths."""
    inits = [tensor("conv1.weight", conv_weight(channels, channels, 3)),
             tensor("conv2.weight", conv_weight(channels, channels, 3))]
    nodes = [
        helper.make_node("Conv", ["x", "conv1.weight"], ["c1"], name="/block/conv1/Conv", pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c1"], ["r1"], name="/block/relu1/Relu"),
        helper.make_node("Conv", ["r1", "conv2.weight"], ["c2"], name="/block/conv2/Conv", pads=[1, 1, 1, 1]),
        helper.make_node("Add", ["c2", "x"], ["s"], name="/block/Add"),
        helper.make_node("Relu", ["s"], ["y"], name="/block/relu2/Relu"),
    ]
    return model(nodes, [float_input("x", ["N", channels, 6, 6])], ["y"], inits)


def decomposed_layernorm(width: int = 8) -> onnx.ModelProto:
    """Linear -> LayerNorm spelled out as torch's old exporter did -> Linear."""
    rng = np.random.default_rng(RNG_SEED)
    inits = [
        tensor("w1", (rng.standard_normal((width, width)) * 0.2).astype(np.float32)),
        tensor("w2", (rng.standard_normal((width, width)) * 0.2).astype(np.float32)),
        tensor("two", np.array(2.0, np.float32)),
        tensor("eps", np.array(1e-5, np.float32)),
        tensor("gamma", np.ones(width, np.float32)),
        tensor("beta", np.zeros(width, np.float32)),
    ]
    nodes = [
        helper.make_node("MatMul", ["x", "w1"], ["h"], name="/dense1/MatMul"),
        helper.make_node("ReduceMean", ["h"], ["mean"], name="/ln/ReduceMean", axes=[-1]),
        helper.make_node("Sub", ["h", "mean"], ["d"], name="/ln/Sub"),
        helper.make_node("Pow", ["d", "two"], ["sq"], name="/ln/Pow"),
        helper.make_node("ReduceMean", ["sq"], ["var"], name="/ln/ReduceMean_1", axes=[-1]),
        helper.make_node("Add", ["var", "eps"], ["ve"], name="/ln/Add"),
        helper.make_node("Sqrt", ["ve"], ["sd"], name="/ln/Sqrt"),
        helper.make_node("Div", ["d", "sd"], ["n"], name="/ln/Div"),
        helper.make_node("Mul", ["n", "gamma"], ["g"], name="/ln/Mul"),
        helper.make_node("Add", ["g", "beta"], ["ln"], name="/ln/Add_1"),
        helper.make_node("MatMul", ["ln", "w2"], ["y"], name="/dense2/MatMul"),
    ]
    return model(nodes, [float_input("x", ["batch", "seq", width])], ["y"], inits, opset=13)
