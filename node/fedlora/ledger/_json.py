"""Decode the chaincode's JSON into records, and encode transaction arguments.

Decoding is msgspec's, from the record declarations in :mod:`fedlora.ledger.records`: strict
about types (no strings for numbers, no booleans for integers), tolerant of fields it does not
know. One Go habit needs help: a nil slice or map is written as ``null``, which msgspec would
refuse for a list or a dict, so before conversion such a ``null`` becomes an empty list or
object, and a ``null`` for any other field with a default becomes that default. A ``null``
where the record allows one (``Round.proposal``, ``HistoryEntry.value``) stays as it is, and so
does everything inside a free-form JSON value.

Arguments are encoded through the records' builtins and :func:`json.dumps` with sorted keys,
compact separators, ASCII escapes and Python's float repr: byte for byte what this client has
always sent (msgspec's own encoder writes ``1e-05`` as ``0.00001`` and UTF-8 unescaped, both
valid JSON, but a signed argument is best kept stable).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TypeVar

import msgspec
import msgspec.inspect as mi

from fedlora.ledger.errors import LedgerDataError

T = TypeVar("T")

_HINT = "the chaincode and this client disagree on the contract API; check both versions"


def decode(raw: bytes, kind: type[T], what: str) -> T:
    """Decode one JSON document returned by transaction ``what`` as a ``kind``.

    Raises
    ------
    LedgerDataError
        Not JSON, or a field missing or of the wrong type (the message names its JSON path).
    """
    try:
        document = msgspec.json.decode(raw)
        return msgspec.convert(_go_nulls(document, _info(kind)), kind, strict=True)
    except msgspec.ValidationError as error:
        raise LedgerDataError(f"{what} answered a malformed record: {error}", _HINT) from None
    except msgspec.DecodeError as error:
        raise LedgerDataError(f"{what} is not valid JSON: {error}", _HINT) from None


def decode_list(raw: bytes, kind: type[T], what: str) -> tuple[T, ...]:
    """Decode a JSON list of ``kind`` records (``null`` is an empty list)."""
    items: tuple[T, ...] = decode(raw, tuple[kind, ...], what)  # type: ignore[valid-type]
    return items


def argument(value: msgspec.Struct | Mapping[str, float]) -> str:
    """JSON text for a transaction argument: compact, keys sorted, finite numbers only."""
    try:
        return json.dumps(
            msgspec.to_builtins(value), sort_keys=True, separators=(",", ":"), allow_nan=False
        )
    except ValueError:
        raise LedgerDataError(
            "a transaction argument holds NaN or infinity", "send finite numbers only"
        ) from None


_INFO: dict[object, mi.Type] = {}


def _info(kind: object) -> mi.Type:
    """msgspec's description of ``kind`` (cached: the record types are few)."""
    if kind not in _INFO:
        _INFO[kind] = mi.type_info(kind)  # type: ignore[arg-type]
    return _INFO[kind]


def _go_nulls(value: object, info: mi.Type) -> object:
    """``value`` with Go's ``null`` for empty slices and maps replaced, along the type ``info``."""
    if isinstance(info, mi.StructType) and isinstance(value, dict):
        return _struct_nulls(value, info)
    if isinstance(info, mi.ListType | mi.VarTupleType) and isinstance(value, list):
        return [_go_nulls(item, info.item_type) for item in value]
    if isinstance(info, mi.DictType) and isinstance(value, dict):
        return {key: _go_nulls(item, info.value_type) for key, item in value.items()}
    if isinstance(info, mi.UnionType):  # an optional record: look inside it
        for member in info.types:
            if isinstance(member, mi.StructType):
                return _go_nulls(value, member)
    if value is None and isinstance(info, mi.ListType | mi.VarTupleType):
        return []  # a top-level list answer that Go wrote as null
    return value


def _struct_nulls(value: dict[str, object], info: mi.StructType) -> dict[str, object]:
    fields = {field.encode_name: field for field in info.fields}
    result: dict[str, object] = {}
    for key, item in value.items():
        field = fields.get(key)
        if field is None:  # unknown to this client: ignored by the conversion
            result[key] = item
        elif item is not None:
            result[key] = _go_nulls(item, field.type)
        elif isinstance(field.type, mi.ListType | mi.VarTupleType):
            result[key] = []
        elif isinstance(field.type, mi.DictType):
            result[key] = {}
        elif _nullable(field.type) or field.required:
            result[key] = None  # allowed, or refused by the conversion with the field named
        # else: a null for an optional field reads as its default
    return result


def _nullable(info: mi.Type) -> bool:
    return isinstance(info, mi.NoneType) or (
        isinstance(info, mi.UnionType) and any(isinstance(t, mi.NoneType) for t in info.types)
    )
