"""resolve_inputs: documented dim defaults, integer ranges, overrides, errors, memory guard."""
from __future__ import annotations

import numpy as np
import onnx
import pytest
import torch
from onnx import TensorProto, helper
from onnx_graphs import MODELS_DIR, float_input, int_input, model, tensor

from gradlint.errors import ModelLoadError, ResourceLimitError, UsageError
from gradlint.loaders.onnx.input_memory import default_memory_limit, physical_memory
from gradlint.loaders.onnx.inputs import DEFAULT_CHANNELS, DEFAULT_SPATIAL, fit_inputs, resolve_inputs
from gradlint.loaders.onnx.reader import read_onnx
from gradlint.options import InputOverrides

BATCH, SEQ = 4, 9


def _resolve(proto: onnx.ModelProto, overrides: InputOverrides | None = None, limit: int | None = None):
    specs = resolve_inputs(proto, overrides or InputOverrides(), BATCH, SEQ, memory_limit=limit)
    return {spec.name: spec for spec in specs}


def _identity_model(inputs: list[onnx.ValueInfoProto]) -> onnx.ModelProto:
    nodes = [helper.make_node("Identity", [i.name], [f"{i.name}_out"]) for i in inputs]
    return model(nodes, inputs, [f"{i.name}_out" for i in inputs])


def _bert_like() -> onnx.ModelProto:
    """ids -> Cast -> Gather(vocab 50); type ids -> Gather(3 rows); ids also -> Gather(position table 40)."""
    rng = np.random.default_rng(0)
    nodes = [
        helper.make_node("Cast", ["input_ids"], ["ids64"], to=TensorProto.INT64),
        helper.make_node("Unsqueeze", ["ids64", "axis"], ["ids3"]),
        helper.make_node("Gather", ["words", "ids3"], ["w"]),
        helper.make_node("Gather", ["positions", "input_ids"], ["p"]),
        helper.make_node("Gather", ["types", "token_type_ids"], ["t"]),
        helper.make_node("Cast", ["attention_mask"], ["m"], to=TensorProto.FLOAT),
        helper.make_node("Identity", ["plain_ints"], ["q"]),
    ]
    inits = [tensor("words", rng.standard_normal((50, 4)).astype(np.float32)),
             tensor("positions", rng.standard_normal((40, 4)).astype(np.float32)),
             tensor("types", rng.standard_normal((3, 4)).astype(np.float32)),
             tensor("axis", np.array([2], np.int64))]
    dims = ["batch", "seq"]
    inputs = [int_input("input_ids", dims, TensorProto.INT32), int_input("token_type_ids", dims),
              int_input("attention_mask", dims), int_input("plain_ints", ["batch", 5])]
    return model(nodes, inputs, ["w", "p", "t", "m", "q"], inits)


def test_symbolic_dims_get_documented_defaults() -> None:
    specs = _resolve(_identity_model([
        float_input("image", ["N", "C", "H", "W"]), float_input("sequence", ["N", "T", 16]),
        int_input("tokens", [None, None]), float_input("fixed", [1, 3, 5, 5]),
    ]))
    assert specs["image"].shape == (BATCH, DEFAULT_CHANNELS, DEFAULT_SPATIAL, DEFAULT_SPATIAL)
    assert specs["sequence"].shape == (BATCH, SEQ, 16)
    assert specs["tokens"].shape == (BATCH, SEQ)
    assert specs["fixed"].shape == (1, 3, 5, 5) and specs["fixed"].batch_axis == 0
    assert specs["image"].dtype == torch.float32 and specs["image"].is_float


def test_batch_axis_after_a_fixed_leading_dim() -> None:
    specs = _resolve(_identity_model([float_input("state", [2, "B", 128])]))
    assert specs["state"].shape == (2, BATCH, 128) and specs["state"].batch_axis == 1


def test_integer_ranges_follow_the_tables_they_index() -> None:
    specs = _resolve(_bert_like())
    ids = specs["input_ids"]
    assert (ids.low, ids.high, ids.dtype) == (0, 40, torch.int32)  # smallest of vocab 50, positions 40
    assert (specs["token_type_ids"].low, specs["token_type_ids"].high) == (0, 3)
    assert (specs["attention_mask"].low, specs["attention_mask"].high) == (1, 2)
    assert (specs["plain_ints"].low, specs["plain_ints"].high) == (0, 2)
    assert specs["attention_mask"].shape == (BATCH, SEQ)


def test_float_and_bool_masks_are_ones() -> None:
    proto = _identity_model([float_input("x", ["B", 4]), float_input("padding_mask", ["B", 4]),
                             int_input("key_mask", ["B", 4], TensorProto.BOOL)])
    specs = _resolve(proto)
    assert specs["padding_mask"].value == 1.0 and not specs["padding_mask"].is_float
    assert specs["key_mask"].value == 1.0 and specs["key_mask"].shape == (BATCH, 4)
    assert specs["x"].value is None and specs["x"].is_float


def test_a_symbolic_dim_overridden_once_sizes_every_input_using_it() -> None:
    specs = _resolve(_bert_like(), InputOverrides(shapes={"input_ids": (2, 7)}))
    assert specs["input_ids"].shape == specs["token_type_ids"].shape == specs["attention_mask"].shape == (2, 7)
    assert specs["plain_ints"].shape == (2, 5)


def test_a_batch_given_for_one_input_sizes_the_others() -> None:
    proto = _identity_model([float_input("audio", [None, None]), float_input("state", [2, None, 8])])
    specs = _resolve(proto, InputOverrides(shapes={"audio": (3, 512)}))
    assert specs["state"].shape == (2, 3, 8)


def test_sole_input_override_and_dtype_override() -> None:
    proto = _identity_model([float_input("x", ["N", 3])])
    specs = _resolve(proto, InputOverrides(shapes={"": (6, 3)}, dtypes={"x": torch.float64}))
    assert specs["x"].shape == (6, 3) and specs["x"].dtype == torch.float64


def test_sole_input_key_with_several_inputs_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="single-input model; its inputs are: input_ids, token_type_ids"):
        _resolve(_bert_like(), InputOverrides(shapes={"": (2, 7)}))


@pytest.mark.parametrize("field", ["shapes", "values", "dtypes"])
def test_unknown_input_names_the_valid_ones(field: str) -> None:
    value = {"shapes": (2, 3), "values": 1.0, "dtypes": torch.int64}[field]
    with pytest.raises(UsageError, match=r"no input 'inputs'; its inputs are: x$"):
        _resolve(_identity_model([float_input("x", ["N", 3])]), InputOverrides(**{field: {"inputs": value}}))


def test_rank_mismatch_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="rank 2, got 4 dims"):
        _resolve(_identity_model([float_input("x", ["N", 3])]), InputOverrides(shapes={"x": (1, 2, 3, 4)}))


def test_integer_scalar_needs_a_value() -> None:
    proto = _identity_model([float_input("audio", ["N", 64]), int_input("sr", [])])
    with pytest.raises(UsageError, match="--input-value sr=NUMBER"):
        _resolve(proto)
    spec = _resolve(proto, InputOverrides(values={"sr": 16000}))["sr"]
    assert (spec.shape, spec.value, spec.dtype, spec.batch_axis) == ((), 16000.0, torch.int64, None)
    assert not spec.is_float


def test_string_input_cannot_be_synthesised() -> None:
    proto = _identity_model([helper.make_tensor_value_info("text", TensorProto.STRING, [1])])
    with pytest.raises(ModelLoadError, match="'text' has type STRING"):
        _resolve(proto)


def _wide_model() -> onnx.ModelProto:
    """Relu of a [N, 1000, 1000] float input: inputs and activations scale with N."""
    proto = model([helper.make_node("Relu", ["x"], ["h"]), helper.make_node("Relu", ["h"], ["y"])],
                  [float_input("x", ["N", 1000, 1000])], ["y"])
    return onnx.shape_inference.infer_shapes(proto)


def test_memory_guard_refuses_before_allocating() -> None:
    with pytest.raises(ResourceLimitError, match="smaller --input-shape"):
        _resolve(_wide_model(), InputOverrides(shapes={"x": (64, 1000, 1000)}), limit=1024**3)


def test_memory_guard_counts_activations() -> None:
    proto, given = _wide_model(), InputOverrides(shapes={"x": (BATCH, 1000, 1000)})
    input_bytes = BATCH * 1000 * 1000 * 4
    _resolve(proto, given, limit=input_bytes * 6)  # input + 2 activations x 2 copies = 5x
    with pytest.raises(ResourceLimitError, match="activations"):
        _resolve(proto, given, limit=input_bytes * 4)


def test_default_limit_is_half_of_ram() -> None:
    total = physical_memory()
    assert total and default_memory_limit() == total // 2


def test_default_batch_is_halved_until_the_probe_fits() -> None:
    proto = _wide_model()  # input + 2 activations x 2 copies = 5 x 4 MB per sample
    per_sample = 1000 * 1000 * 4
    specs, notes = fit_inputs(proto, InputOverrides(), 8, SEQ, memory_limit=5 * per_sample * 3)
    assert specs[0].shape == (2, 1000, 1000)
    assert [(n.kind, n.details["from"], n.details["to"]) for n in notes] == [("probe-batch-reduced", 8, 2)]
    assert fit_inputs(proto, InputOverrides(), 8, SEQ, memory_limit=5 * per_sample * 8)[1] == ()


def test_a_batch_the_user_gave_is_refused_not_reduced() -> None:
    with pytest.raises(ResourceLimitError, match="smaller --input-shape"):
        fit_inputs(_wide_model(), InputOverrides(shapes={"x": (8, 1000, 1000)}), BATCH, SEQ,
                   memory_limit=5 * 1000 * 1000 * 4 * 3)


def test_a_fixed_batch_is_refused_not_reduced() -> None:
    proto = model([helper.make_node("Relu", ["x"], ["y"])], [float_input("x", [8, 1000, 1000])], ["y"])
    proto = onnx.shape_inference.infer_shapes(proto)
    with pytest.raises(ResourceLimitError, match="activations"):
        fit_inputs(proto, InputOverrides(), BATCH, SEQ, memory_limit=1000 * 1000 * 4)


def test_a_model_over_the_limit_at_batch_one_is_refused() -> None:
    with pytest.raises(ResourceLimitError):
        fit_inputs(_wide_model(), InputOverrides(), BATCH, SEQ, memory_limit=1000 * 1000 * 4)


@pytest.mark.skipif(not MODELS_DIR.exists(), reason="shared real models not present")
def test_real_bert_inputs() -> None:
    specs = _resolve(read_onnx(MODELS_DIR / "transformer__bert_toy_randinit.onnx"), limit=None)
    assert specs["input_ids"].high == 99 and specs["token_type_ids"].high == 16
    assert (specs["input_mask"].low, specs["input_mask"].high) == (1, 2)
    assert specs["input_ids"].shape == (BATCH, SEQ)


@pytest.mark.skipif(not MODELS_DIR.exists(), reason="shared real models not present")
def test_real_silero_needs_its_sample_rate() -> None:
    proto = read_onnx(MODELS_DIR / "lstm__silero_vad_v5.onnx")
    with pytest.raises(UsageError, match="--input-value sr="):
        _resolve(proto)
    specs = _resolve(proto, InputOverrides(shapes={"input": (1, 512)}, values={"sr": 16000}))
    # The state's unnamed batch dim follows the batch given for `input`.
    assert specs["state"].shape == (2, 1, 128) and specs["state"].batch_axis == 1
