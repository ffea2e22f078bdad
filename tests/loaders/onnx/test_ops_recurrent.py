"""LSTM, GRU and RNN against onnxruntime: directions, biases, peepholes, lengths, options."""
from __future__ import annotations

import numpy as np
import pytest
from onnx import helper

SEQ, BATCH, INPUT, HIDDEN = 5, 3, 4, 6


def randn(*shape: int, seed: int = 0) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(shape) * 0.5).astype(np.float32)


def recurrent_inputs(
    gates: int, dirs: int, bias: bool = True, lengths: bool = False, initial: int = 0,
    peephole: bool = False,
) -> dict[str, np.ndarray | None]:
    inputs: dict[str, np.ndarray | None] = {
        "x": randn(SEQ, BATCH, INPUT),
        "w": randn(dirs, gates * HIDDEN, INPUT, seed=1),
        "r": randn(dirs, gates * HIDDEN, HIDDEN, seed=2),
        "b": randn(dirs, 2 * gates * HIDDEN, seed=3) if bias else None,
        "seq": np.array([5, 2, 4], np.int32) if lengths else None,
    }
    if initial >= 1:
        inputs["h0"] = randn(dirs, BATCH, HIDDEN, seed=4)
    if initial >= 2:
        inputs["c0"] = randn(dirs, BATCH, HIDDEN, seed=5)
    if peephole:
        inputs.setdefault("h0", None)
        inputs.setdefault("c0", None)
        inputs["p"] = randn(dirs, 3 * HIDDEN, seed=6)
    return inputs


@pytest.mark.parametrize("direction", ["forward", "reverse", "bidirectional"])
@pytest.mark.parametrize("lengths", [False, True])
def test_lstm_directions_and_lengths(onnx_helpers, direction, lengths):
    dirs = 2 if direction == "bidirectional" else 1
    inputs = recurrent_inputs(4, dirs, lengths=lengths, initial=2, peephole=True)
    attrs = {"hidden_size": HIDDEN, "direction": direction}
    onnx_helpers.check_node("LSTM", inputs, attrs, opset=14, outputs=3)


@pytest.mark.parametrize(
    "attrs",
    [
        {},
        {"clip": 0.5},
        {"input_forget": 1},
        {"activations": ["HardSigmoid", "LeakyRelu", "Softsign"],
         "activation_alpha": [0.3, 0.2], "activation_beta": [0.4]},
    ],
)
def test_lstm_options_without_bias_or_initial_state(onnx_helpers, attrs):
    inputs = recurrent_inputs(4, 1, bias=False)
    onnx_helpers.check_node("LSTM", inputs, {"hidden_size": HIDDEN, **attrs}, opset=9, outputs=3)


def test_lstm_only_y_output(onnx_helpers):
    onnx_helpers.check_node("LSTM", recurrent_inputs(4, 1), {"hidden_size": HIDDEN}, opset=7)


def test_lstm_layout_batch_first_equals_onnxruntime_on_seq_first(onnx_helpers):
    # onnxruntime's CPU kernel rejects layout=1, so compare with its layout=0 result
    inputs = recurrent_inputs(4, 2, initial=2)
    names = ["x", "w", "r", "b", "", "h0", "c0"]
    attrs = {"hidden_size": HIDDEN, "direction": "bidirectional"}
    seq_first = onnx_helpers.make_model(
        [helper.make_node("LSTM", names, ["y", "yh", "yc"], **attrs)],
        {k: v for k, v in inputs.items() if v is not None}, ["y", "yh", "yc"], 14,
    )
    feeds = {k: v for k, v in inputs.items() if v is not None}
    y, y_h, y_c = onnx_helpers.run_ort(seq_first, feeds)
    batch_first = {k: (v.transpose(1, 0, 2).copy() if k in ("x", "h0", "c0") else v)
                   for k, v in feeds.items()}
    model = onnx_helpers.make_model(
        [helper.make_node("LSTM", names, ["y", "yh", "yc"], layout=1, **attrs)],
        batch_first, ["y", "yh", "yc"], 14,
    )
    got = [t.numpy() for t in onnx_helpers.run_executor(model, batch_first)]
    np.testing.assert_allclose(got[0], y.transpose(2, 0, 1, 3), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got[1], y_h.transpose(1, 0, 2), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(got[2], y_c.transpose(1, 0, 2), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("direction", ["forward", "reverse", "bidirectional"])
@pytest.mark.parametrize("linear_before_reset", [0, 1])
def test_gru(onnx_helpers, direction, linear_before_reset):
    dirs = 2 if direction == "bidirectional" else 1
    inputs = recurrent_inputs(3, dirs, lengths=direction != "forward", initial=1)
    attrs = {"hidden_size": HIDDEN, "direction": direction,
             "linear_before_reset": linear_before_reset}
    onnx_helpers.check_node("GRU", inputs, attrs, opset=14, outputs=2)


def test_gru_without_bias_with_clip(onnx_helpers):
    inputs = recurrent_inputs(3, 1, bias=False)
    onnx_helpers.check_node("GRU", inputs, {"hidden_size": HIDDEN, "clip": 0.3}, outputs=2)


@pytest.mark.parametrize(
    "attrs",
    [{}, {"activations": ["Relu"]}, {"direction": "bidirectional",
                                     "activations": ["Tanh", "Sigmoid"]}],
)
def test_rnn(onnx_helpers, attrs):
    dirs = 2 if attrs.get("direction") == "bidirectional" else 1
    inputs = recurrent_inputs(1, dirs, lengths=True, initial=1)
    onnx_helpers.check_node("RNN", inputs, {"hidden_size": HIDDEN, **attrs}, outputs=2)
