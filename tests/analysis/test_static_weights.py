from __future__ import annotations

import numpy as np
import pytest
import torch
from onnx import TensorProto, helper, numpy_helper
from static_graphs import weight

from gradlint.analysis.static_weights import (
    columns_identical,
    is_orthogonal,
    main_weight,
    onnx_output_scale,
    recurrent_radii,
    rows_identical,
)
from gradlint.model import Layer, LayerGraph, LayerKind, LoadedModel


def torch_model(module: torch.nn.Module) -> LoadedModel:
    return LoadedModel("m", "python", None, (), LayerGraph(), source=module)


def linear_layer(module: torch.nn.Linear, name: str = "fc") -> Layer:
    out, fan_in = module.weight.shape
    return Layer(name, LayerKind.LINEAR, fan_in=fan_in, weight=weight(1.0, fan_in, (out, fan_in)))


def test_orthogonality_and_identical_rows_are_read_off_the_module_parameters() -> None:
    net = torch.nn.Sequential()
    net.add_module("fc", torch.nn.Linear(32, 16))
    model, layer = torch_model(net), linear_layer(net.fc)
    assert is_orthogonal(model, layer) is False and rows_identical(model, layer) is False
    with torch.no_grad():
        torch.nn.init.orthogonal_(net.fc.weight, gain=3.0)
    assert is_orthogonal(model, layer) is True
    with torch.no_grad():
        net.fc.weight.copy_(torch.randn(1, 32).expand(16, 32))
    assert rows_identical(model, layer) is True and columns_identical(model, layer) is False


@pytest.mark.parametrize(("cell", "gates"), [("LSTM", 4), ("GRU", 3), ("RNN", 1)])
def test_recurrent_radii_are_per_gate_block(cell: str, gates: int) -> None:
    net = torch.nn.Sequential()
    net.add_module("rnn", getattr(torch.nn, cell)(4, 8))
    for index, block in enumerate(net.rnn.weight_hh_l0.data.split(8)):
        torch.nn.init.orthogonal_(block, gain=0.5 + index)
    layer = Layer("rnn", LayerKind.RECURRENT, op_types=(cell.lower() if cell != "RNN" else "rnn_tanh",))
    radii = recurrent_radii(torch_model(net), layer)
    assert radii == pytest.approx([0.5 + index for index in range(gates)], rel=1e-5)


def test_onnx_weights_are_found_through_identity_aliases_and_layerscale_is_a_scale() -> None:
    w = np.random.default_rng(0).normal(size=(16, 8)).astype(np.float32)
    gamma = np.full(16, 1e-3, dtype=np.float32)
    graph = helper.make_graph(
        [helper.make_node("Identity", ["W"], ["W_alias"], name="alias"),
         helper.make_node("Gemm", ["x", "W_alias"], ["y"], name="gemm", transB=1),
         helper.make_node("Mul", ["y", "gamma"], ["z"], name="scale")],
        "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 8])],
        [helper.make_tensor_value_info("z", TensorProto.FLOAT, [2, 16])],
        [numpy_helper.from_array(w, "W"), numpy_helper.from_array(gamma, "gamma")],
    )
    model = LoadedModel("m.onnx", "onnx", None, (), LayerGraph(), source=helper.make_model(graph))
    layer = Layer("gemm", LayerKind.LINEAR, op_types=("Gemm", "Mul"), nodes=("gemm", "scale"),
                  fan_in=8, weight=weight(1.0, 8, (16, 8)))
    assert torch.equal(main_weight(model, layer), torch.from_numpy(w).double())
    assert onnx_output_scale(model, layer) == pytest.approx(1e-6)
