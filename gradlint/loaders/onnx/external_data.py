"""External tensor data, loaded only after every location is proven to stay in the model's folder.

An ONNX file may point its tensors at other files (`external_data` entries with a
`location`). A hostile file could name `/etc/shadow`, `../../secret` or a symlink leading out
of its folder; onnx would read it into a weight. Every location is checked before any is read.
"""
from __future__ import annotations

import os
from pathlib import Path, PurePath, PurePosixPath, PureWindowsPath
from typing import Iterator

import onnx

from gradlint.errors import ModelLoadError, UnsafeModelError


def iter_tensors(graph: onnx.GraphProto) -> Iterator[onnx.TensorProto]:
    """Every tensor stored in `graph` and its subgraphs: initializers and attribute tensors."""
    yield from graph.initializer
    for sparse in graph.sparse_initializer:
        yield sparse.values
        yield sparse.indices
    for node in graph.node:
        for attribute in node.attribute:
            # A TENSOR attribute whose tensor is absent (a corrupt file) still yields one,
            # empty, so that tensor_check refuses it.
            if attribute.HasField("t") or attribute.type == onnx.AttributeProto.TENSOR:
                yield attribute.t
            yield from attribute.tensors
            if attribute.HasField("g"):
                yield from iter_tensors(attribute.g)
            for subgraph in attribute.graphs:
                yield from iter_tensors(subgraph)


def external_locations(model: onnx.ModelProto) -> list[str]:
    """The distinct `location`s the model's external tensors name, in first-use order."""
    seen: dict[str, None] = {}
    for tensor in iter_tensors(model.graph):
        if tensor.data_location != onnx.TensorProto.EXTERNAL:
            continue
        entries = {entry.key: entry.value for entry in tensor.external_data}
        location = entries.get("location", "")
        if not location:
            raise ModelLoadError(f"tensor {tensor.name!r} has external data without a location")
        seen.setdefault(location, None)
    return list(seen)


def check_location(location: str, folder: Path) -> Path:
    """The file `location` names, or UnsafeModelError when it would leave `folder`."""
    if _is_absolute(location):
        raise UnsafeModelError(f"external data location {location!r} is an absolute path")
    parts = PureWindowsPath(location).parts + PurePosixPath(location).parts
    if ".." in parts:
        raise UnsafeModelError(f"external data location {location!r} leaves the model's folder")
    root = folder.resolve()
    target = (folder / location).resolve()
    if target != root and root not in target.parents:
        raise UnsafeModelError(
            f"external data location {location!r} resolves outside the model's folder"
        )
    if not target.is_file():
        raise ModelLoadError(f"external data file {location!r} is missing")
    return target


def load_external_data(model: onnx.ModelProto, folder: Path) -> None:
    """Validate every location, then read the data into `model` in place."""
    locations = external_locations(model)
    for location in locations:
        check_location(location, folder)
    if not locations:
        return
    try:
        onnx.load_external_data_for_model(model, str(folder))
    except Exception as error:  # onnx raises ValueError, OSError, protobuf errors...
        cause = " ".join(str(error).split())[:200] or type(error).__name__
        raise ModelLoadError(f"could not read external data: {cause}") from None


def _is_absolute(location: str) -> bool:
    paths: tuple[PurePath, ...] = (PurePosixPath(location), PureWindowsPath(location))
    return any(path.is_absolute() or path.drive or path.root for path in paths) or (
        location.startswith(("~", os.sep))
    )
