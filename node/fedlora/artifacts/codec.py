"""Adapter codec: tensors <-> safetensors bytes, written and checked by hand.

The bytes of an adapter are its identity (its SHA-256 is recorded on the ledger and every
participant recomputes the aggregate and compares hashes), so encoding must not depend on dict
insertion order or on a library's serializer. We therefore lay out the safetensors format
ourselves: 8-byte little-endian header length, a JSON header with sorted keys and no spaces,
padded with spaces to a multiple of 8, then the tensor data in sorted-name order.

Peer bytes are parsed and checked here before the safetensors loader ever sees them.
"""

from __future__ import annotations

import json
import math
import struct
from typing import Any

import torch
from safetensors.torch import load as _safetensors_load

from fedlora.errors import FedloraError

Tensors = dict[str, torch.Tensor]

DEFAULT_MAX_BYTES = 256 * 1024 * 1024
# A LoRA header is a few hundred kB at most (a SmolLM2 adapter's is 25 kB); parsing a header
# costs several times its size in memory, so a peer may not send more than this.
MAX_HEADER_BYTES = 4 * 1024 * 1024
METADATA_KEY = "__metadata__"

# Only floating-point tensors are adapters; integer or bool payloads are refused.
_DTYPE_NAMES: dict[torch.dtype, str] = {
    torch.float16: "F16",
    torch.bfloat16: "BF16",
    torch.float32: "F32",
    torch.float64: "F64",
}
_ITEM_SIZES = {"F16": 2, "BF16": 2, "F32": 4, "F64": 8}


class MalformedAdapterError(FedloraError):
    """Adapter bytes that are not a well-formed floating-point safetensors payload."""

    def __init__(self, what: str, hint: str = "") -> None:
        super().__init__(
            what, hint or "the sender produced a corrupt or foreign file; ask it to resend"
        )


def _tensor_bytes(name: str, tensor: torch.Tensor) -> tuple[str, bytes]:
    dtype_name = _DTYPE_NAMES.get(tensor.dtype)
    if dtype_name is None:
        raise MalformedAdapterError(
            f"adapter tensor {name!r} has dtype {tensor.dtype}, not a floating-point type",
            "only float16, bfloat16, float32 and float64 tensors can be exchanged",
        )
    flat = tensor.detach().to("cpu").contiguous().reshape(-1)
    return dtype_name, flat.view(torch.uint8).numpy().tobytes()


def encode_adapter(tensors: Tensors, metadata: dict[str, str] | None = None) -> bytes:
    """Serialize tensors to deterministic safetensors bytes.

    Parameters
    ----------
    tensors : dict[str, torch.Tensor]
        Floating-point tensors (any device; copied to contiguous CPU memory).
    metadata : dict[str, str], optional
        String metadata stored in the header's ``__metadata__`` entry.

    Returns
    -------
    bytes
        The same bytes for the same names, dtypes, shapes and values, whatever the dict order.

    Raises
    ------
    MalformedAdapterError
        For a non-float tensor, a reserved name, or non-string metadata.
    """
    header: dict[str, Any] = {}
    if metadata:
        if not all(isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()):
            raise MalformedAdapterError(
                "adapter metadata must map strings to strings", "convert values with str()"
            )
        header[METADATA_KEY] = dict(sorted(metadata.items()))
    chunks: list[bytes] = []
    offset = 0
    for name in sorted(tensors):
        if name == METADATA_KEY:
            raise MalformedAdapterError(f"tensor name {METADATA_KEY!r} is reserved", "rename it")
        tensor = tensors[name]
        dtype_name, raw = _tensor_bytes(name, tensor)
        header[name] = {
            "dtype": dtype_name,
            "shape": list(tensor.shape),
            "data_offsets": [offset, offset + len(raw)],
        }
        chunks.append(raw)
        offset += len(raw)
    header_bytes = json.dumps(header, sort_keys=True, separators=(",", ":")).encode("utf-8")
    header_bytes += b" " * (-len(header_bytes) % 8)
    return struct.pack("<Q", len(header_bytes)) + header_bytes + b"".join(chunks)


def _parse_header(data: bytes) -> dict[str, Any]:
    if len(data) < 8:
        raise MalformedAdapterError(
            f"adapter is {len(data)} bytes: truncated before the 8-byte header length"
        )
    (header_len,) = struct.unpack("<Q", data[:8])
    if header_len > MAX_HEADER_BYTES:
        raise MalformedAdapterError(
            f"adapter header length {header_len} exceeds the {MAX_HEADER_BYTES}-byte limit"
        )
    if header_len > len(data) - 8:
        raise MalformedAdapterError(
            f"adapter header length {header_len} goes beyond the {len(data) - 8} bytes that follow"
        )
    try:
        header = json.loads(data[8 : 8 + header_len].decode("utf-8"))
    except (ValueError, RecursionError) as error:  # also: 5,000-digit numbers, deep nesting
        raise MalformedAdapterError(
            f"adapter header is not valid JSON ({type(error).__name__}: {str(error)[:200]})"
        ) from None
    if not isinstance(header, dict):
        raise MalformedAdapterError("adapter header is JSON but not an object")
    return header


def _check_metadata(metadata: Any) -> None:
    if not isinstance(metadata, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in metadata.items()
    ):
        raise MalformedAdapterError("adapter __metadata__ is not a string-to-string map")


def _check_entry(name: str, entry: Any, data_len: int) -> tuple[int, int]:
    if not isinstance(entry, dict):
        raise MalformedAdapterError(f"adapter header entry {name!r} is not an object")
    dtype = entry.get("dtype")
    shape = entry.get("shape")
    offsets = entry.get("data_offsets")
    if not isinstance(dtype, str) or dtype not in _ITEM_SIZES:
        raise MalformedAdapterError(
            f"adapter tensor {name!r} has unsupported dtype {dtype!r}",
            "only F16, BF16, F32 and F64 adapters are accepted",
        )
    if not isinstance(shape, list) or not all(
        isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape
    ):
        raise MalformedAdapterError(f"adapter tensor {name!r} has an invalid shape {shape!r}")
    if (
        not isinstance(offsets, list)
        or len(offsets) != 2
        or not all(isinstance(o, int) and not isinstance(o, bool) for o in offsets)
    ):
        raise MalformedAdapterError(f"adapter tensor {name!r} has invalid data_offsets")
    begin, end = offsets
    if not 0 <= begin <= end <= data_len:
        raise MalformedAdapterError(
            f"adapter tensor {name!r} offsets [{begin}, {end}] are out of range "
            f"(data is {data_len} bytes)"
        )
    if end - begin != math.prod(shape) * _ITEM_SIZES[dtype]:
        raise MalformedAdapterError(
            f"adapter tensor {name!r} spans {end - begin} bytes but shape {shape} of {dtype} "
            f"needs {math.prod(shape) * _ITEM_SIZES[dtype]}"
        )
    return begin, end


def _check_layout(spans: list[tuple[int, int, str]], data_len: int) -> None:
    # safetensors requires tensors to tile the data buffer exactly, without gaps or overlaps.
    position = 0
    for begin, end, name in sorted(spans):
        if begin != position:
            raise MalformedAdapterError(
                f"adapter tensor {name!r} starts at byte {begin}, expected {position} "
                "(gap or overlap in the data)"
            )
        position = end
    if position != data_len:
        raise MalformedAdapterError(
            f"adapter data is {data_len} bytes but its tensors cover {position}"
        )


def read_header(data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> dict[str, Any]:
    """Parse and check a safetensors header without loading any tensor.

    Parameters
    ----------
    data : bytes
        The whole payload.
    max_bytes : int
        Refuse payloads larger than this.

    Returns
    -------
    dict
        The header object (tensor entries plus an optional ``__metadata__``).

    Raises
    ------
    MalformedAdapterError
        Naming the first problem found.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise MalformedAdapterError(f"adapter payload is a {type(data).__name__}, not bytes")
    if len(data) > max_bytes:
        raise MalformedAdapterError(
            f"adapter is {len(data)} bytes, over the {max_bytes}-byte limit",
            "raise the limit if such large adapters are expected",
        )
    data = bytes(data)
    header = _parse_header(data)
    (header_len,) = struct.unpack("<Q", data[:8])
    data_len = len(data) - 8 - header_len
    spans: list[tuple[int, int, str]] = []
    for name, entry in header.items():
        if name == METADATA_KEY:
            _check_metadata(entry)
            continue
        begin, end = _check_entry(name, entry, data_len)
        spans.append((begin, end, name))
    _check_layout(spans, data_len)
    return header


def decode_metadata(data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> dict[str, str]:
    """Return the ``__metadata__`` map of checked adapter bytes (empty if there is none)."""
    metadata = read_header(data, max_bytes).get(METADATA_KEY, {})
    return dict(metadata)


def decode_adapter(data: bytes, max_bytes: int = DEFAULT_MAX_BYTES) -> Tensors:
    """Check adapter bytes, then load them as CPU tensors.

    Parameters
    ----------
    data : bytes
        A safetensors payload, typically received from a peer.
    max_bytes : int
        Refuse payloads larger than this (default 256 MiB).

    Returns
    -------
    dict[str, torch.Tensor]
        Tensors by name. Finiteness is not checked here (see aggregation.validate_update).

    Raises
    ------
    MalformedAdapterError
        For non-safetensors, truncated, oversized or non-float payloads.
    """
    read_header(data, max_bytes)
    try:
        loaded: Tensors = _safetensors_load(bytes(data))
    except Exception as error:  # the loader's own error types are not part of its API
        raise MalformedAdapterError(f"adapter could not be loaded ({error})") from None
    return loaded
