"""What a model file really is, judged from its first bytes rather than its name.

A PyTorch checkpoint renamed to `.onnx` is a zip archive (or, for old checkpoints, a raw
pickle); handing either to the protobuf parser gives a misleading "truncated message" error,
and unpickling would run code from the file. Sniffing first turns both into a clear refusal.
"""
from __future__ import annotations

from pathlib import Path

ZIP = "zip"
PICKLE = "pickle"
EMPTY = "empty"
OTHER = "other"

_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
# Pickle protocol 2+ starts with PROTO (0x80) and the protocol number; protocols 0 and 1
# have no header, but torch.save never writes them, so only the common forms are sniffed.
_PICKLE_PROTOCOLS = range(2, 6)


def sniff_file(path: Path) -> str:
    """'zip', 'pickle', 'empty' or 'other' (possibly protobuf) for the file at `path`."""
    with path.open("rb") as handle:
        head = handle.read(8)
    return sniff_bytes(head)


def sniff_bytes(head: bytes) -> str:
    if not head:
        return EMPTY
    if head.startswith(_ZIP_MAGIC):
        return ZIP
    if len(head) >= 2 and head[0] == 0x80 and head[1] in _PICKLE_PROTOCOLS:
        return PICKLE
    return OTHER
