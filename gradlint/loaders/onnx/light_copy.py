"""A copy of a model without the bytes of its large float weights, for whole-model passes.

Shape inference and protobuf's size computation both serialise the whole model; on GPT-2
small that is ~500 MB of weights and seconds of work that tells them nothing: inference only
needs a weight's dims and element type. The light copy keeps every field except the
`raw_data` of large float initializers of the top graph. Small tensors and every non-float
tensor keep their values, because shape inference reads values (Reshape/Expand/Slice shape
inputs, Resize scales, Range bounds) through data propagation; those are integers or a handful
of floats.
"""
from __future__ import annotations

import math

import onnx
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from onnx import TensorProto

# Float tensors with more elements than this lose their data in the light copy.
BULK_ELEMENTS = 1024
_FLOAT_ITEMSIZE = {
    TensorProto.FLOAT: 4, TensorProto.DOUBLE: 8, TensorProto.FLOAT16: 2, TensorProto.BFLOAT16: 2,
}
# Upper bound on what a dropped raw_data field costs besides its bytes: its tag and length
# prefix, and the growth of the enclosing tensor's length prefix.
_FIELD_OVERHEAD = 16


def light_copy(model: onnx.ModelProto) -> tuple[onnx.ModelProto, int]:
    """The light copy, and an upper bound on the serialised bytes it left out."""
    light = onnx.ModelProto()
    copy_fields(model, light, skip="graph")
    copy_fields(model.graph, light.graph, skip="initializer")
    dropped = 0
    for tensor in model.graph.initializer:
        target = light.graph.initializer.add()
        if is_bulk(tensor):
            copy_fields(tensor, target, skip="raw_data")
            dropped += raw_bytes(tensor) + _FIELD_OVERHEAD
        else:
            target.CopyFrom(tensor)
    return light, dropped


def is_bulk(tensor: TensorProto) -> bool:
    """A large float tensor stored in raw_data (what exporters write for weights)."""
    return (
        tensor.data_type in _FLOAT_ITEMSIZE
        and tensor.data_location != TensorProto.EXTERNAL
        and math.prod(tensor.dims) > BULK_ELEMENTS
        and tensor.HasField("raw_data")
    )


def raw_bytes(tensor: TensorProto) -> int:
    """The length of a bulk tensor's raw_data, from its shape (reading the field copies it);
    the reader has checked that the two agree."""
    return math.prod(tensor.dims) * _FLOAT_ITEMSIZE[tensor.data_type]


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
