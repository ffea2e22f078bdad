"""A copy of a model without the bytes of its large float weights, for whole-model passes.

Shape inference and onnxruntime's session building both serialise the whole model; on GPT-2
small that is ~500 MB of weights and seconds of work. Inference only needs a weight's dims
and element type; onnxruntime can be handed the weights as arrays (parity_runtime.py).
The light copy keeps every field except the `raw_data` of large float initializers of the
top graph. Small tensors and every non-float tensor keep their values, because shape
inference reads values (Reshape/Expand/Slice shape inputs, Resize scales, Range bounds)
through data propagation; those are integers or a handful of floats.
"""
from __future__ import annotations

import math

import onnx
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from onnx import TensorProto

# Float tensors with more elements than this lose their data in the light copy.
BULK_ELEMENTS = 1024
_FLOAT_TYPES = frozenset(
    {TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.FLOAT16, TensorProto.BFLOAT16}
)


def light_copy(model: onnx.ModelProto) -> onnx.ModelProto:
    """`model` without the raw_data of its bulk tensors (see `is_bulk`)."""
    light = onnx.ModelProto()
    copy_fields(model, light, skip="graph")
    copy_fields(model.graph, light.graph, skip="initializer")
    for tensor in model.graph.initializer:
        target = light.graph.initializer.add()
        if is_bulk(tensor):
            copy_fields(tensor, target, skip="raw_data")
        else:
            target.CopyFrom(tensor)
    return light


def is_bulk(tensor: TensorProto) -> bool:
    """A large float tensor stored in raw_data (what exporters write for weights)."""
    return (
        tensor.data_type in _FLOAT_TYPES
        and tensor.data_location != TensorProto.EXTERNAL
        and math.prod(tensor.dims) > BULK_ELEMENTS
        and tensor.HasField("raw_data")
    )


def copy_fields(source: Message, target: Message, skip: str) -> None:
    """Every set field of `source` but `skip` into `target`; `skip` is never read."""
    for field in source.DESCRIPTOR.fields:
        if field.name == skip:
            continue
        if _is_repeated(field):
            values = getattr(source, field.name)
            if values:
                getattr(target, field.name).extend(values)
        elif source.HasField(field.name):  # onnx.proto is proto2: every field has presence
            if field.type == field.TYPE_MESSAGE:
                getattr(target, field.name).CopyFrom(getattr(source, field.name))
            else:
                setattr(target, field.name, getattr(source, field.name))


def replace_fields(source: Message, target: Message, skip: str) -> None:
    """`target`'s fields but `skip` replaced by `source`'s."""
    for field in target.DESCRIPTOR.fields:
        if field.name != skip:
            target.ClearField(field.name)
    copy_fields(source, target, skip)


def _is_repeated(field: FieldDescriptor) -> bool:
    # protobuf 7 dropped `label` (its upb descriptors have only `is_repeated`); before 5.x,
    # `label` is all there is.
    repeated = getattr(field, "is_repeated", None)
    return bool(repeated) if repeated is not None else field.label == field.LABEL_REPEATED
