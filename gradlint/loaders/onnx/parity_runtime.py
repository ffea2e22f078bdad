"""onnxruntime as the parity reference: one deterministic CPU session per model proto.

The session is built in memory: a light copy of the proto (light_copy.py) is serialized and
its large weights are handed over as arrays, which onnxruntime reads in place. A proto whose
tensors still point at external files cannot be (the bytes would not say where those files
are), and one whose light copy is still past protobuf's 2 GiB limit cannot be serialized at
all; the latter is written to a temporary folder with its tensors as external data.
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Mapping

import numpy as np
import onnx
import onnxruntime as ort
import torch
from onnx import numpy_helper

from gradlint.loaders.onnx.light_copy import is_bulk, light_copy
from gradlint.time_limit import cancel_when_expired

# Protobuf refuses to serialize messages of 2 GiB or more; keep a margin for the header.
_SERIALIZE_LIMIT = 2**31 - 2**24
# A location no file has: onnxruntime takes these tensors from add_external_initializers.
_IN_MEMORY = "gradlint-in-memory-weight"

_NUMPY_TYPES = {
    "tensor(float)": np.float32, "tensor(double)": np.float64, "tensor(float16)": np.float16,
    "tensor(int64)": np.int64, "tensor(int32)": np.int32, "tensor(int16)": np.int16,
    "tensor(int8)": np.int8, "tensor(uint8)": np.uint8, "tensor(uint16)": np.uint16,
    "tensor(uint32)": np.uint32, "tensor(uint64)": np.uint64, "tensor(bool)": np.bool_,
}


class ParityUnavailable(Exception):
    """onnxruntime cannot run this model (or these inputs), so parity cannot be checked."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def run_onnxruntime(
    model: onnx.ModelProto, inputs: Mapping[str, torch.Tensor]
) -> dict[str, np.ndarray]:
    """Every graph output of `model` on `inputs`, by name; ParityUnavailable when ORT fails."""
    _refuse_unloaded_external_data(model)
    try:
        # The session reads the weights from `weights`' memory: they must outlive it.
        session, weights = _session(model)
        feeds = _feeds(session, inputs)
        names = [output.name for output in session.get_outputs()]
        run_options = ort.RunOptions()
        run_options.log_severity_level = 4  # a cancelled run logs an error line otherwise
        # --timeout: a Loop with a huge trip count never returns to Python; ask ORT to stop.
        with cancel_when_expired(lambda: setattr(run_options, "terminate", True)):
            values = session.run(names, feeds, run_options)
    except ParityUnavailable:
        raise
    except Exception as error:  # onnxruntime raises its own Fail/InvalidGraph/... types
        raise ParityUnavailable(_one_line(error)) from error
    return dict(zip(names, values))


def session_options() -> ort.SessionOptions:
    """Two threads, sequential, deterministic kernels, and no graph rewrites: every node
    runs as the ONNX op it is (the fusions of the higher levels substitute approximations
    that are not the op's definition). Even BASIC's constant folding is left out: it cost
    GPT-2 small 0.8 s of a 1.6 s session start (folding the transposed 154 MB LM head) to
    save 0.2-0.5 s of its run."""
    options = ort.SessionOptions()
    # A fixed count, not the machine's: the arithmetic then does not depend on the machine.
    # 4 threads change cnn_nobn__mnist8's outputs; 2 give bit for bit the outputs of 1 on
    # every shared model and on ResNet-50 and GPT-2 small, and halve GPT-2's run (8 x 128
    # tokens: 8.5 s -> 3.2 s with the session start).
    options.intra_op_num_threads = 2
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.use_deterministic_compute = True
    options.log_severity_level = 3
    return options


# An IR version every onnxruntime of the last years reads; newer IR versions add features
# (types, metadata) that models valid at an older IR version do not use.
_FALLBACK_IR_VERSION = 10


def _session(model: onnx.ModelProto) -> tuple[ort.InferenceSession, tuple[ort.OrtValue, ...]]:
    """A session, and the weights it reads in place; a model stamped with an IR version newer
    than this onnxruntime reads (a fresh onnx library writes its newest) is retried once at an
    older IR version."""
    try:
        return _build_session(model)
    except Exception as error:
        if "IR version" not in str(error) or model.ir_version <= _FALLBACK_IR_VERSION:
            raise
    downgraded = onnx.ModelProto()
    downgraded.CopyFrom(model)
    downgraded.ir_version = _FALLBACK_IR_VERSION
    return _build_session(downgraded)


def _build_session(
    model: onnx.ModelProto,
) -> tuple[ort.InferenceSession, tuple[ort.OrtValue, ...]]:
    """The model's large weights are handed to onnxruntime as arrays next to a light copy of
    the model: serialising them and parsing them back cost 2-3 s on GPT-2 small."""
    providers = ["CPUExecutionProvider"]
    light = light_copy(model)
    if light.ByteSize() < _SERIALIZE_LIMIT:
        options = session_options()
        weights = _in_memory_weights(model, light)
        options.add_external_initializers(list(weights), list(weights.values()))
        session = ort.InferenceSession(light.SerializeToString(), options, providers=providers)
        return session, tuple(weights.values())
    with tempfile.TemporaryDirectory(prefix="gradlint-parity-", ignore_cleanup_errors=True) as tmp:
        path = Path(tmp) / "model.onnx"
        onnx.save_model(model, str(path), save_as_external_data=True, location="model.onnx.data")
        # The session reads everything while it is built, so the folder may go afterwards.
        return ort.InferenceSession(str(path), session_options(), providers=providers), ()


def _in_memory_weights(model: onnx.ModelProto, light: onnx.ModelProto) -> dict[str, ort.OrtValue]:
    """The weights `light` lacks, as OrtValues over their arrays, by name; their tensors in
    `light` are marked external, which is what onnxruntime replaces with given values."""
    weights = {}
    for tensor, light_tensor in zip(model.graph.initializer, light.graph.initializer):
        if not is_bulk(tensor):  # kept whole in `light`
            continue
        light_tensor.data_location = onnx.TensorProto.EXTERNAL
        light_tensor.external_data.add(key="location", value=_IN_MEMORY)
        weights[tensor.name] = ort.OrtValue.ortvalue_from_numpy(numpy_helper.to_array(tensor))
    return weights


def _feeds(
    session: ort.InferenceSession, inputs: Mapping[str, torch.Tensor]
) -> dict[str, np.ndarray]:
    """The given tensors as numpy arrays of the element types the session declares."""
    feeds = {}
    for declared in session.get_inputs():
        if declared.name not in inputs:
            raise ParityUnavailable(f"no value was given for model input {declared.name!r}")
        tensor = inputs[declared.name].detach().cpu()
        if tensor.dtype == torch.bfloat16:
            raise ParityUnavailable(f"input {declared.name!r} is bfloat16, which numpy cannot hold")
        array = tensor.numpy()
        target = _NUMPY_TYPES.get(declared.type)
        feeds[declared.name] = array.astype(target) if target is not None else array
    return feeds


def _refuse_unloaded_external_data(model: onnx.ModelProto) -> None:
    for tensor in model.graph.initializer:
        if tensor.data_location == onnx.TensorProto.EXTERNAL:
            raise ParityUnavailable(
                f"initializer {tensor.name!r} is stored in an external file that was not loaded"
            )


def _one_line(error: Exception) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return text[:300]
