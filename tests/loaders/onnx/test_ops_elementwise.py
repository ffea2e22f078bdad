"""Elementwise ops against onnxruntime: broadcasting, integer semantics, attribute defaults."""
from __future__ import annotations

import numpy as np
import pytest


def randn(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def positive(*shape: int, seed: int = 0) -> np.ndarray:
    return (np.abs(randn(*shape, seed=seed)) + 0.1).astype(np.float32)


@pytest.mark.parametrize("op", ["Add", "Sub", "Mul", "Div"])
def test_binary_arithmetic_broadcasts(onnx_helpers, op):
    onnx_helpers.check_node(op, {"a": randn(2, 3, 4), "b": positive(3, 1, seed=1)})


@pytest.mark.parametrize("op", ["Add", "Sub", "Mul", "Div"])
def test_binary_arithmetic_on_integers(onnx_helpers, op):
    a = np.array([7, -7, 9, -9, 0], dtype=np.int64)
    b = np.array([2, 2, -4, -4, 3], dtype=np.int64)
    onnx_helpers.check_node(op, {"a": a, "b": b})


def test_pow_float_and_integer_exponent(onnx_helpers):
    onnx_helpers.check_node("Pow", {"a": positive(2, 3), "b": randn(3, seed=2)})
    onnx_helpers.check_node("Pow", {"a": randn(2, 3), "b": np.array(2, dtype=np.int64)})


@pytest.mark.parametrize(
    "op", ["Neg", "Abs", "Exp", "Erf", "Tanh", "Sigmoid", "Relu", "Softplus", "HardSwish"]
)
def test_unary(onnx_helpers, op):
    onnx_helpers.check_node(op, {"x": randn(3, 5) * 3})


@pytest.mark.parametrize("op", ["Sqrt", "Log", "Reciprocal"])
def test_unary_positive_domain(onnx_helpers, op):
    onnx_helpers.check_node(op, {"x": positive(4, 3)})


@pytest.mark.parametrize(
    "op, attrs",
    [
        ("LeakyRelu", {}),
        ("LeakyRelu", {"alpha": 0.3}),
        ("Elu", {}),
        ("Elu", {"alpha": 0.5}),
        ("Selu", {}),
        ("Selu", {"alpha": 1.5, "gamma": 2.0}),
        ("HardSigmoid", {}),
        ("HardSigmoid", {"alpha": 0.5, "beta": 0.1}),
    ],
)
def test_activation_attributes_and_defaults(onnx_helpers, op, attrs):
    onnx_helpers.check_node(op, {"x": randn(2, 6) * 3}, attrs)


def test_prelu_broadcasts_slope(onnx_helpers):
    onnx_helpers.check_node("PRelu", {"x": randn(2, 3, 4), "slope": positive(3, 1, seed=3)})


@pytest.mark.parametrize(
    "inputs",
    [
        {"min": np.array(-0.5, np.float32), "max": np.array(0.7, np.float32)},
        {"min": np.array(-0.5, np.float32), "max": None},
        {"min": None, "max": np.array(0.2, np.float32)},
        {"min": None, "max": None},
    ],
)
def test_clip_inputs_opset_11_plus(onnx_helpers, inputs):
    onnx_helpers.check_node("Clip", {"x": randn(3, 4), **inputs}, opset=13)


@pytest.mark.parametrize("attrs", [{"min": -0.5, "max": 0.5}, {"max": 0.1}, {}])
def test_clip_attributes_before_opset_11(onnx_helpers, attrs):
    onnx_helpers.check_node("Clip", {"x": randn(3, 4)}, attrs, opset=9)


@pytest.mark.parametrize("op", ["Min", "Max", "Sum", "Mean"])
def test_variadic_broadcast(onnx_helpers, op):
    inputs = {"a": randn(2, 3), "b": randn(3, seed=1), "c": randn(2, 1, seed=2)}
    onnx_helpers.check_node(op, inputs)


@pytest.mark.parametrize("op", ["Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual"])
def test_comparisons(onnx_helpers, op):
    a = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.int64)
    onnx_helpers.check_node(op, {"a": a, "b": np.array([3, 2, 1], dtype=np.int64)})
    onnx_helpers.check_node(op, {"a": randn(2, 3), "b": randn(3, seed=1)})


@pytest.mark.parametrize("op", ["And", "Or"])
def test_logic(onnx_helpers, op):
    a = np.array([[True, False], [True, True]])
    onnx_helpers.check_node(op, {"a": a, "b": np.array([False, True])})


def test_not(onnx_helpers):
    onnx_helpers.check_node("Not", {"x": np.array([True, False, True])})


def test_where_broadcasts(onnx_helpers):
    cond = np.array([[True, False, True]])
    onnx_helpers.check_node("Where", {"c": cond, "x": randn(2, 3), "y": randn(2, 1, seed=1)})
