"""The exporter-only ops (ops/extra*.py) against onnxruntime, plus gradient checks."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from onnx import helper

from gradlint.loaders.onnx.executor import build_runnable
from gradlint.loaders.onnx.parity import relative_error as parity_relative_error


def randn(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def i64(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.int64)


@pytest.mark.parametrize("op", ["Sin", "Cos", "Tan", "Atan", "Sinh", "Cosh", "Asinh", "Floor",
                                "Ceil", "Sign", "Softsign", "Mish", "Gelu"])
def test_unary(onnx_helpers, op):
    onnx_helpers.check_node(op, {"x": randn(3, 5) * 2}, opset=20)


@pytest.mark.parametrize("op", ["Asin", "Acos", "Atanh"])
def test_unary_on_open_unit_interval(onnx_helpers, op):
    onnx_helpers.check_node(op, {"x": np.tanh(randn(4, 3)).astype(np.float32) * 0.9})


def test_acosh_above_one(onnx_helpers):
    onnx_helpers.check_node("Acosh", {"x": np.abs(randn(4, 3)) + 1.1})


def test_gelu_tanh_approximation(onnx_helpers):
    onnx_helpers.check_node("Gelu", {"x": randn(4, 6) * 3}, {"approximate": "tanh"}, opset=20)


def test_round_halves_to_even(onnx_helpers):
    onnx_helpers.check_node("Round", {"x": np.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 2.6],
                                                    np.float32)})


@pytest.mark.parametrize("attrs", [{}, {"detect_negative": 0}, {"detect_positive": 0}])
def test_nan_and_inf_tests(onnx_helpers, attrs):
    x = np.array([1.0, np.nan, np.inf, -np.inf, 0.0], np.float32)
    onnx_helpers.check_node("IsInf", {"x": x}, attrs)
    onnx_helpers.check_node("IsNaN", {"x": x})


@pytest.mark.parametrize("fmod", [0, 1])
def test_mod_signs(onnx_helpers, fmod):
    a, b = i64(7, -7, 7, -7, 0), i64(3, 3, -3, -3, 5)
    onnx_helpers.check_node("Mod", {"a": a, "b": b}, {"fmod": fmod})
    if fmod:  # float Mod requires fmod=1
        onnx_helpers.check_node("Mod", {"a": randn(6) * 5, "b": randn(6, seed=1) + 3}, {"fmod": 1})


def test_xor(onnx_helpers):
    a, b = np.array([True, True, False, False]), np.array([True, False, True, False])
    onnx_helpers.check_node("Xor", {"a": a, "b": b})


@pytest.mark.parametrize("op, attrs", [
    ("Celu", {"alpha": 0.7}),
    ("ThresholdedRelu", {"alpha": 0.4}),
    ("Shrink", {"lambd": 0.6, "bias": 0.2}),
])
def test_activations_with_attributes(onnx_helpers, op, attrs):
    onnx_helpers.check_node(op, {"x": randn(4, 5) * 2}, attrs)
    onnx_helpers.check_node(op, {"x": randn(4, 5) * 2})


@pytest.mark.parametrize("opset, axis", [(13, -1), (13, 0), (11, 1)])
def test_hardmax(onnx_helpers, opset, axis):
    x = randn(2, 3, 4)
    x[0, 0, :2] = 5.0  # a tie: the first maximum wins
    onnx_helpers.check_node("Hardmax", {"x": x}, {"axis": axis}, opset=opset)


@pytest.mark.parametrize("axis", [0, 1, -1])
def test_gather_elements_with_negative_indices(onnx_helpers, axis):
    x = randn(3, 4)
    size = x.shape[axis]
    index = np.random.default_rng(1).integers(-size, size, (2, 4) if axis == 0 else (3, 2))
    if axis == -1:
        index = index[:, :2]
    onnx_helpers.check_node("GatherElements", {"x": x, "i": index.astype(np.int64)}, {"axis": axis})


@pytest.mark.parametrize("indices, batch_dims", [
    (np.array([[0, 1], [2, -1]], np.int64), 0),
    (np.array([[1], [0], [2]], np.int64), 0),
    (np.array([[[1], [0]], [[2], [2]]], np.int64), 1),
])
def test_gather_nd(onnx_helpers, indices, batch_dims):
    data = randn(3, 4, 2) if batch_dims == 0 else randn(2, 3, 4)
    onnx_helpers.check_node("GatherND", {"x": data, "i": indices}, {"batch_dims": batch_dims})


@pytest.mark.parametrize("reduction", ["none", "add", "mul", "max", "min"])
def test_scatter_nd(onnx_helpers, reduction):
    # repeated indices only where the reduction makes their order irrelevant
    rows = [[1], [3]] if reduction == "none" else [[1], [3], [1]]
    indices = np.array(rows, np.int64)
    updates = randn(len(indices), 3, seed=1)
    onnx_helpers.check_node("ScatterND", {"x": randn(4, 3), "i": indices, "u": updates},
                            {"reduction": reduction}, opset=18)


def test_scatter_nd_on_elements(onnx_helpers):
    indices = np.array([[0, 2], [1, -1]], np.int64)
    onnx_helpers.check_node("ScatterND", {"x": randn(2, 3), "i": indices, "u": randn(2, seed=1)})


@pytest.mark.parametrize("reduction", ["none", "add", "mul", "max", "min"])
def test_scatter_elements(onnx_helpers, reduction):
    indices = np.array([[1, 0, -1], [2, 2, 0]], np.int64)
    updates = randn(2, 3, seed=1)
    onnx_helpers.check_node("ScatterElements", {"x": randn(3, 3), "i": indices, "u": updates},
                            {"axis": 0, "reduction": reduction}, opset=18)


def test_tile(onnx_helpers):
    onnx_helpers.check_node("Tile", {"x": randn(2, 3), "r": i64(2, 3)})


@pytest.mark.parametrize("upper, k", [(1, None), (0, None), (1, 1), (0, -1)])
def test_trilu(onnx_helpers, upper, k):
    inputs = {"x": randn(2, 4, 5), "k": None if k is None else i64(k)}
    onnx_helpers.check_node("Trilu", inputs, {"upper": upper}, opset=14)


@pytest.mark.parametrize("exclusive, reverse", [(0, 0), (1, 0), (0, 1), (1, 1)])
def test_cumsum(onnx_helpers, exclusive, reverse):
    attrs = {"exclusive": exclusive, "reverse": reverse}
    onnx_helpers.check_node("CumSum", {"x": randn(3, 4), "a": i64(-1)}, attrs)
    onnx_helpers.check_node("CumSum", {"x": i64(1, 2, 3, 4), "a": i64(0)}, attrs)


@pytest.mark.parametrize("largest", [1, 0])
def test_top_k(onnx_helpers, largest):
    attrs = {"largest": largest, "axis": 1}
    onnx_helpers.check_node("TopK", {"x": randn(3, 6), "k": i64(2)}, attrs, outputs=2)


@pytest.mark.parametrize("axis", [-1, 0, 1])
def test_one_hot(onnx_helpers, axis):
    inputs = {"i": np.array([[0, 2], [-1, 5]], np.int64), "d": i64(3),
              "v": np.array([-1.0, 2.0], np.float32)}
    onnx_helpers.check_node("OneHot", inputs, {"axis": axis})


def test_non_zero(onnx_helpers):
    onnx_helpers.check_node("NonZero", {"x": np.array([[1, 0, 3], [0, 0, 2]], np.int64)})


@pytest.mark.parametrize("mode", ["DCR", "CRD"])
def test_depth_to_space_and_back(onnx_helpers, mode):
    attrs = {"blocksize": 2, "mode": mode}
    onnx_helpers.check_node("DepthToSpace", {"x": randn(2, 8, 3, 2)}, attrs)
    onnx_helpers.check_node("SpaceToDepth", {"x": randn(2, 2, 4, 6)}, {"blocksize": 2})


@pytest.mark.parametrize("attrs", [
    {},
    {"strides": [2, 2], "pads": [1, 0, 0, 1]},
    {"strides": [2, 1], "output_padding": [1, 0], "dilations": [1, 2]},
    {"strides": [2, 2], "output_shape": [7, 8]},
    {"strides": [2, 2], "auto_pad": "SAME_UPPER"},
    {"strides": [2, 2], "auto_pad": "SAME_LOWER"},
])
def test_conv_transpose_2d(onnx_helpers, attrs):
    inputs = {"x": randn(1, 4, 3, 4), "w": randn(4, 3, 3, 2, seed=1), "b": randn(3, seed=2)}
    onnx_helpers.check_node("ConvTranspose", inputs, attrs)


def test_conv_transpose_grouped_1d_without_bias(onnx_helpers):
    inputs = {"x": randn(2, 4, 5), "w": randn(4, 1, 3, seed=1)}
    onnx_helpers.check_node("ConvTranspose", inputs, {"group": 2, "strides": [3]})


EINSUM_SHAPES = {
    "bij,bjk->bik": [(2, 3, 4), (2, 4, 5)],
    "ij->ji": [(3, 4)],
    "b i d, b j d -> b i j": [(2, 3, 4), (2, 5, 4)],
    "...ij,jk->...ik": [(2, 2, 3, 4), (4, 5)],
}


@pytest.mark.parametrize("equation", list(EINSUM_SHAPES))
def test_einsum(onnx_helpers, equation):
    inputs = {f"x{i}": randn(*shape, seed=i) for i, shape in enumerate(EINSUM_SHAPES[equation])}
    onnx_helpers.check_node("Einsum", inputs, {"equation": equation}, tol=1e-5)


@pytest.mark.parametrize("opset", [18, 21])
def test_group_normalization(onnx_helpers, opset):
    params = 2 if opset == 18 else 6
    inputs = {"x": randn(2, 6, 3, 3), "s": randn(params, seed=1), "b": randn(params, seed=2)}
    onnx_helpers.check_node("GroupNormalization", inputs, {"num_groups": 2}, opset=opset)


def test_rms_normalization(onnx_helpers):
    inputs = {"x": randn(2, 3, 8), "s": randn(8, seed=1)}
    onnx_helpers.check_node("RMSNormalization", inputs, {"epsilon": 1e-6}, opset=23)


@pytest.mark.parametrize("p", [1, 2])
def test_lp_normalization(onnx_helpers, p):
    onnx_helpers.check_node("LpNormalization", {"x": randn(3, 5)}, {"p": p, "axis": 0})


def test_lrn(onnx_helpers):
    attrs = {"size": 3, "alpha": 0.01, "beta": 0.6, "bias": 1.5}
    onnx_helpers.check_node("LRN", {"x": randn(2, 6, 3, 3)}, attrs)


def test_lrn_even_window_follows_the_spec(onnx_helpers):
    """onnxruntime refuses even sizes; the spec's window is [c - 1, c + 2] for size 4."""
    x, size, alpha, beta, bias = randn(2, 6, 3), 4, 0.01, 0.6, 1.5
    node = helper.make_node("LRN", ["x"], ["y"], size=size, alpha=alpha, beta=beta, bias=bias)
    (got,) = onnx_helpers.run_executor(onnx_helpers.make_model([node], {"x": x}, ["y"]), {"x": x})
    square_sum = np.stack([(x[:, max(c - 1, 0): c + 3] ** 2).sum(axis=1) for c in range(6)], axis=1)
    want = x / (bias + alpha / size * square_sum) ** beta
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-5)


def test_mean_variance_normalization(onnx_helpers):
    onnx_helpers.check_node("MeanVarianceNormalization", {"x": randn(2, 3, 4, 4)})


@pytest.mark.parametrize("op", ["ReduceL1", "ReduceL2", "ReduceSumSquare", "ReduceLogSumExp"])
@pytest.mark.parametrize("opset", [13, 18])
def test_norm_reductions(onnx_helpers, op, opset):
    x = randn(2, 3, 4)
    if opset >= 18:
        onnx_helpers.check_node(op, {"x": x, "a": i64(1, -1)}, {"keepdims": 0}, opset=opset)
    else:
        onnx_helpers.check_node(op, {"x": x}, {"axes": [1, -1], "keepdims": 0}, opset=opset)
    onnx_helpers.check_node(op, {"x": x}, opset=opset)


def test_reduce_log_sum(onnx_helpers):
    inputs = {"x": np.abs(randn(2, 3)) + 0.1}
    onnx_helpers.check_node("ReduceLogSum", inputs, {"axes": [1]}, opset=13)


def resize_attrs(mode: str, transform: str = "half_pixel", **more: object) -> dict:
    return {"mode": mode, "coordinate_transformation_mode": transform, **more}


RESIZE_CASES = [
    (resize_attrs("nearest", "asymmetric", nearest_mode="floor"), 2.0),
    ({"mode": "nearest"}, 1.5),
    (resize_attrs("nearest", nearest_mode="round_prefer_ceil"), 0.5),
    (resize_attrs("nearest", "align_corners", nearest_mode="ceil"), 1.7),
    (resize_attrs("linear"), 2.0),
    (resize_attrs("linear"), 0.6),
    (resize_attrs("linear", "align_corners"), 1.5),
    (resize_attrs("linear", "asymmetric"), 1.5),
    (resize_attrs("linear", "pytorch_half_pixel"), 1.5),
    (resize_attrs("linear", "half_pixel_symmetric"), 1.7),
    (resize_attrs("cubic"), 2.0),
    (resize_attrs("cubic", cubic_coeff_a=-0.5, exclude_outside=1), 1.5),
]


@pytest.mark.parametrize("attrs, scale", RESIZE_CASES)
def test_resize_by_scales(onnx_helpers, attrs, scale):
    scales = np.array([1, 1, scale, scale], np.float32)
    inputs = {"x": randn(2, 3, 5, 4), "roi": None, "s": scales}
    onnx_helpers.check_node("Resize", inputs, attrs, opset=19)


@pytest.mark.parametrize("mode", ["nearest", "linear"])
def test_resize_by_sizes_on_one_axis(onnx_helpers, mode):
    inputs = {"x": randn(2, 3, 5), "roi": None, "s": None, "z": i64(9)}
    onnx_helpers.check_node("Resize", inputs, {"mode": mode, "axes": [2]}, opset=18)


def test_resize_cubic_by_sizes(onnx_helpers):
    inputs = {"x": randn(1, 2, 5, 4), "roi": None, "s": None, "z": i64(1, 2, 7, 3)}
    onnx_helpers.check_node("Resize", inputs, {"mode": "cubic"}, opset=13)


@pytest.mark.parametrize("policy", ["not_larger", "not_smaller"])
def test_resize_keeps_aspect_ratio(onnx_helpers, policy):
    inputs = {"x": randn(1, 1, 4, 6), "roi": None, "s": None, "z": i64(8, 9)}
    attrs = {"mode": "linear", "axes": [2, 3], "keep_aspect_ratio_policy": policy}
    onnx_helpers.check_node("Resize", inputs, attrs, opset=18)


def test_resize_tf_crop_and_resize_extrapolates(onnx_helpers):
    roi = np.array([0, 0, -0.2, 0.1, 1, 1, 0.8, 1.3], np.float32)
    inputs = {"x": randn(1, 2, 5, 5), "roi": roi, "s": None, "z": i64(1, 2, 4, 6)}
    attrs = {"mode": "linear", "coordinate_transformation_mode": "tf_crop_and_resize",
             "extrapolation_value": -3.0}
    onnx_helpers.check_node("Resize", inputs, attrs, opset=13)


def _gradcheck(onnx_helpers, op, inputs, attrs=None, opset=17):
    """Finite differences through the executor in float64 for every float input but Resize's
    roi and scales (which steer the computation, like integer inputs)."""
    node = helper.make_node(op, list(inputs), ["y"], **(attrs or {}))
    runnable, diagnostics = build_runnable(onnx_helpers.make_model([node], inputs, ["y"], opset))
    assert runnable is not None, diagnostics
    runnable.to("cpu", torch.float64)
    floats = [n for n, v in inputs.items() if v.dtype == np.float32 and n not in ("roi", "scales")]
    fixed = {n: torch.from_numpy(v) for n, v in inputs.items() if n not in floats}

    def function(*tensors):
        return runnable.forward({**fixed, **dict(zip(floats, tensors))})["y"]

    tensors = [torch.from_numpy(inputs[n]).double().requires_grad_() for n in floats]
    assert torch.autograd.gradcheck(function, tensors, eps=1e-6, atol=1e-5)


@pytest.mark.parametrize("op, inputs, attrs, opset", [
    ("Gelu", {"x": randn(3, 4)}, {}, 20),
    ("ConvTranspose", {"x": randn(1, 2, 3, 3), "w": randn(2, 2, 3, 3, seed=1)},
     {"strides": [2, 2], "pads": [1, 0, 1, 1], "output_padding": [1, 0]}, 17),
    ("Resize", {"x": randn(1, 2, 3, 3), "roi": np.zeros(0, np.float32),
                "scales": np.array([1, 1, 1.5, 2], np.float32)}, {"mode": "cubic"}, 13),
    ("GatherND", {"x": randn(3, 4), "i": np.array([[0, 1], [2, 3], [0, 1]], np.int64)}, {}, 13),
    ("ScatterND", {"x": randn(4, 2), "i": np.array([[1], [3]], np.int64), "u": randn(2, 2, seed=1)},
     {}, 13),
    ("Einsum", {"a": randn(2, 3), "b": randn(3, 4, seed=1)}, {"equation": "ij,jk->ik"}, 13),
    ("GroupNormalization", {"x": randn(2, 4, 3), "s": randn(4, seed=1), "b": randn(4, seed=2)},
     {"num_groups": 2}, 21),
    ("LRN", {"x": randn(1, 5, 2, 2)}, {"size": 3}, 13),
])
def test_gradients_match_finite_differences(onnx_helpers, op, inputs, attrs, opset):
    _gradcheck(onnx_helpers, op, inputs, attrs, opset)


def attention_inputs(q_heads: int = 4, kv_heads: int = 4, q_len: int = 5, kv_len: int = 5):
    return {"q": randn(2, q_heads, q_len, 8), "k": randn(2, kv_heads, kv_len, 8, seed=1),
            "v": randn(2, kv_heads, kv_len, 6, seed=2)}


def past_inputs(mask: np.ndarray | None = None) -> dict:
    return {**attention_inputs(q_len=3, kv_len=3), "m": mask,
            "pk": randn(2, 4, 2, 8, seed=5), "pv": randn(2, 4, 2, 6, seed=6)}


@pytest.mark.parametrize("attrs", [{}, {"is_causal": 1}, {"scale": 0.3, "softcap": 2.0}])
def test_attention(onnx_helpers, attrs):
    onnx_helpers.check_node("Attention", attention_inputs(), attrs, opset=23)


def test_attention_grouped_query_heads(onnx_helpers):
    onnx_helpers.check_node("Attention", attention_inputs(kv_heads=2), {"is_causal": 1}, opset=23)


@pytest.mark.parametrize("dtype", [np.bool_, np.float32])
@pytest.mark.parametrize("causal", [0, 1])
def test_attention_masks(onnx_helpers, dtype, causal):
    keep = np.random.default_rng(3).random((2, 1, 5, 5)) > 0.3
    keep[..., 0] = True  # every query sees at least one key
    mask = keep if dtype == np.bool_ else np.where(keep, 0.5, -4.0).astype(np.float32)
    attrs = {"is_causal": causal, "softcap": 1.5}
    onnx_helpers.check_node("Attention", {**attention_inputs(), "m": mask}, attrs, opset=23)


def test_attention_query_that_sees_no_key_gets_zeros(onnx_helpers):
    keep = np.ones((2, 1, 5, 5), bool)
    keep[0, 0, 1] = False
    inputs = {**attention_inputs(), "m": keep}
    onnx_helpers.check_node("Attention", inputs, {}, opset=23)
    _gradcheck(onnx_helpers, "Attention", inputs, {}, 23)  # finite despite the blind query


def test_attention_three_d_inputs(onnx_helpers):
    inputs = {"q": randn(2, 5, 32), "k": randn(2, 7, 16, seed=1), "v": randn(2, 7, 12, seed=2)}
    attrs = {"q_num_heads": 4, "kv_num_heads": 2}
    onnx_helpers.check_node("Attention", inputs, attrs, opset=23)


@pytest.mark.parametrize("mode", [0, 1, 2, 3])
@pytest.mark.parametrize("softcap", [0.0, 3.0])
def test_attention_with_past_and_every_output(onnx_helpers, mode, softcap):
    """Causal with a cache: query i sees keys up to i + 2; mode 2 holds -inf where masked."""
    mask = np.where(np.random.default_rng(4).random((2, 1, 3, 5)) > 0.3, 0.5, -4.0)
    inputs = past_inputs(mask.astype(np.float32))
    attrs = {"qk_matmul_output_mode": mode, "softcap": softcap, "is_causal": 1}
    names = ["y", "present_key", "present_value", "qk"]
    node = helper.make_node("Attention", list(inputs), names, **attrs)
    model = onnx_helpers.make_model([node], inputs, names, 23)
    reference = onnx_helpers.run_ort(model, inputs)
    ours = onnx_helpers.run_executor(model, inputs)
    for got, want in zip(ours, reference):
        assert parity_relative_error(got.numpy(), want) < 1e-5  # -inf must match -inf


def test_attention_gradients(onnx_helpers):
    inputs = attention_inputs(kv_heads=2, q_len=3, kv_len=4)
    _gradcheck(onnx_helpers, "Attention", inputs, {"is_causal": 1, "softcap": 2.0}, opset=23)
