"""``ArtifactChunk`` to and from protobuf wire bytes, without copying the chunk's data.

The generated protobuf class copies a chunk's data three times on the way out (slice, message,
serialized bytes) and twice on the way in (parse, ``.data``); for a 64 MiB adapter that is as
much work as the TLS stream itself. ``encode_chunk`` writes the bytes ``SerializeToString``
would (the data copied once, into the message gRPC sends), and ``decode_chunk`` returns the data
as a view into the received message. Both follow the proto3 wire format of
``protos/fedlora/v1/adapter_exchange.proto``; tests hold them to the generated class.
"""

from __future__ import annotations

from typing import NamedTuple

from fedlora._generated.fedlora.v1 import adapter_exchange_pb2 as pb
from fedlora.transport.chunking import Chunk

_SERVICE = pb.DESCRIPTOR.services_by_name["AdapterExchange"]
SERVICE_NAME = _SERVICE.full_name
FETCH_METHOD = f"/{SERVICE_NAME}/FetchArtifact"

_FIELDS = pb.ArtifactChunk.DESCRIPTOR.fields_by_name
_DATA, _OFFSET = _FIELDS["data"].number, _FIELDS["offset"].number
_TOTAL_SIZE, _SHA256 = _FIELDS["total_size"].number, _FIELDS["sha256"].number
_VARINT, _FIXED64, _LENGTH_DELIMITED, _START_GROUP, _END_GROUP, _FIXED32 = 0, 1, 2, 3, 4, 5
_MAX_FIELD_NUMBER = (1 << 29) - 1
_MAX_GROUP_DEPTH = 100  # the protobuf runtime's recursion limit
_UINT64 = (1 << 64) - 1


class MalformedChunk(ValueError):
    """Bytes that are not an ``ArtifactChunk`` message."""


class ReceivedChunk(NamedTuple):
    """A decoded chunk and the size of the message that carried it."""

    chunk: Chunk
    wire_bytes: int


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def _tag(field: int, wire_type: int) -> bytes:
    return _varint(field << 3 | wire_type)


def encode_chunk(data: bytes | memoryview, offset: int, total_size: int, sha256: str) -> bytes:
    """The serialized ``ArtifactChunk``, byte for byte what ``SerializeToString`` gives.

    Fields holding their default (empty, zero) are left out, as proto3 does.
    """
    parts: list[bytes | memoryview] = []
    if len(data):
        parts += [_tag(_DATA, _LENGTH_DELIMITED), _varint(len(data)), data]
    if offset:
        parts += [_tag(_OFFSET, _VARINT), _varint(offset)]
    if total_size:
        parts += [_tag(_TOTAL_SIZE, _VARINT), _varint(total_size)]
    if sha256:
        text = sha256.encode()
        parts += [_tag(_SHA256, _LENGTH_DELIMITED), _varint(len(text)), text]
    return b"".join(parts)


def _read_varint(message: bytes, position: int) -> tuple[int, int]:
    value = shift = 0
    for index in range(position, min(position + 10, len(message))):
        byte = message[index]
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value & _UINT64, index + 1
        shift += 7
    raise MalformedChunk("truncated or over-long varint")


def _read_key(message: bytes, position: int) -> tuple[int, int, int]:
    """Field number, wire type and the position after a field's key."""
    key, position = _read_varint(message, position)
    field = key >> 3
    if not 0 < field <= _MAX_FIELD_NUMBER:
        raise MalformedChunk(f"field number {field} out of range")
    return field, key & 7, position


def _skip(message: bytes, position: int, field: int, wire_type: int, depth: int = 0) -> int:
    """Position after a field's value; unknown fields are skipped as protobuf does."""
    if wire_type == _VARINT:
        position = _read_varint(message, position)[1]
    elif wire_type == _FIXED64:
        position += 8
    elif wire_type == _FIXED32:
        position += 4
    elif wire_type == _LENGTH_DELIMITED:
        length, position = _read_varint(message, position)
        position += length
    elif wire_type == _START_GROUP:
        if depth >= _MAX_GROUP_DEPTH:
            raise MalformedChunk(f"groups nested deeper than {_MAX_GROUP_DEPTH}")
        while True:
            inner, inner_type, position = _read_key(message, position)
            if inner_type == _END_GROUP:
                if inner != field:
                    raise MalformedChunk(f"group {field} ended as group {inner}")
                break
            position = _skip(message, position, inner, inner_type, depth + 1)
    else:
        raise MalformedChunk(f"unexpected wire type {wire_type} for field {field}")
    if position > len(message):
        raise MalformedChunk(f"field {field} runs past the end of the message")
    return position


def decode_chunk(message: bytes) -> ReceivedChunk:
    """Parse one serialized ``ArtifactChunk``; its data is a view into ``message``, not a copy.

    Known fields with another wire type and unknown fields are skipped, and a repeated field
    keeps its last value, as the protobuf runtime does.

    Raises
    ------
    MalformedChunk
        Truncated fields, a bad tag or wire type, or a ``sha256`` that is not UTF-8.
    """
    view = memoryview(message)
    data, offset, total_size, sha256 = view[0:0], 0, 0, ""
    position, end = 0, len(message)
    while position < end:
        field, wire_type, start = _read_key(message, position)
        position = _skip(message, start, field, wire_type)
        if wire_type == _LENGTH_DELIMITED and field == _DATA:
            data = view[_read_varint(message, start)[1] : position]
        elif wire_type == _LENGTH_DELIMITED and field == _SHA256:
            sha256 = _utf8(message[_read_varint(message, start)[1] : position])
        elif wire_type == _VARINT and field == _OFFSET:
            offset = _read_varint(message, start)[0]
        elif wire_type == _VARINT and field == _TOTAL_SIZE:
            total_size = _read_varint(message, start)[0]
    return ReceivedChunk(Chunk(data, offset, total_size, sha256), len(message))


def _utf8(raw: bytes) -> str:
    try:
        return raw.decode()
    except UnicodeDecodeError:
        raise MalformedChunk("sha256 is not UTF-8") from None
