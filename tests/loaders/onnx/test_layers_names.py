"""Layer names: module paths made readable, everything else kept, collisions resolved."""
from __future__ import annotations

import onnx
import pytest
from onnx import helper

from gradlint.loaders.onnx.layers_names import (
    NameAllocator, fallback_name, metadata_names, readable_name, scope_name,
)


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        ("/layer1/conv1/Conv", "layer1.conv1"),
        ("/encoder/layer.0/attention/self/query/MatMul_1", "encoder.layer.0.attention.self.query"),
        ("If_0_else_branch__Inline_0__/encoder/0/reparam_conv/Conv", "encoder.0.reparam_conv"),
        ("/Relu_1", "Relu_1"),
        ("/conv1/custom_name", "conv1.custom_name"),
        ("Convolution28", "Convolution28"),
        ("tf_bert/bert/embeddings/Gather", "tf_bert/bert/embeddings/Gather"),
        ("", ""),
    ],
)
def test_readable_name(node: str, expected: str) -> None:
    assert readable_name(node) == expected


def test_fallback_keeps_the_op_segment() -> None:
    assert fallback_name("/attention/MatMul_1") == "attention.MatMul_1"
    assert fallback_name("plain") == "plain"


def test_allocator_prefers_readable_then_long_then_numbered() -> None:
    names = NameAllocator()
    assert names.claim("attention", "attention.MatMul") == "attention"
    assert names.claim("attention", "attention.MatMul_1") == "attention.MatMul_1"
    assert names.claim("attention", "attention.MatMul_1") == "attention.MatMul_1_1"
    assert names.claim("attention") == "attention_1"


def test_scope_name_of_a_region() -> None:
    keras = ["bert/LayerNorm/moments/mean", "bert/LayerNorm/moments/sub", "bert/LayerNorm/batchnorm/add"]
    assert scope_name(keras) == "bert/LayerNorm"
    assert scope_name(["/enc/ln/ReduceMean", "/enc/ln/Sub"]) == "enc.ln"
    assert scope_name(["ReduceMean_15", "Sub_16"]) is None
    assert scope_name(["/ln/ReduceMean"]) is None


def _node_with_scopes(value: str) -> onnx.NodeProto:
    node = helper.make_node("MatMul", ["a", "b"], ["c"], name="node_MatMul_55")
    entry = node.metadata_props.add()
    entry.key, entry.value = "pkg.torch.onnx.name_scopes", value
    return node


def test_dynamo_metadata_gives_the_module_path() -> None:
    node = _node_with_scopes("['', 'bert', 'bert.encoder.layer.0.attention.self.query', 'linear']")
    assert metadata_names(node) == ["bert.encoder.layer.0.attention.self.query",
                                    "bert.encoder.layer.0.attention.self.query.linear"]
    assert metadata_names(_node_with_scopes("['', 'add_4']")) == ["add_4"]
    assert metadata_names(_node_with_scopes("not a list [")) == []
    assert metadata_names(helper.make_node("Relu", ["a"], ["b"])) == []
