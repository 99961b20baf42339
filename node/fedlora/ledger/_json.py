"""Strict readers for the chaincode's JSON: every field present and of the agreed type.

Go encodes a nil slice or map as ``null``; lists and maps accept ``null`` as empty. Fields that
are not part of the agreed API are ignored, so the chaincode may add fields without breaking
older nodes. A mismatch raises :class:`LedgerDataError` naming the object and the field.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from fedlora.ledger.errors import LedgerDataError

_HINT = "the chaincode and this client disagree on the contract API; check both versions"


def parse_document(raw: bytes, what: str) -> Any:
    """Decode UTF-8 JSON bytes returned by a transaction."""
    try:
        return json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as error:
        raise LedgerDataError(f"{what} is not valid JSON: {error}", _HINT) from None


class Fields:
    """Typed access to one JSON object's fields; ``where`` names the object in errors."""

    def __init__(self, value: object, where: str) -> None:
        if not isinstance(value, dict):
            raise LedgerDataError(f"{where} is not a JSON object", _HINT)
        self._data: dict[str, Any] = value
        self.where = where

    def _get(self, key: str) -> Any:
        if key not in self._data:
            raise LedgerDataError(f"{self.where} lacks the field {key!r}", _HINT)
        return self._data[key]

    def _fail(self, key: str, expected: str) -> LedgerDataError:
        return LedgerDataError(
            f"{self.where}.{key} should be {expected}, got {self._data.get(key)!r}", _HINT
        )

    def text(self, key: str) -> str:
        """A required string."""
        value = self._get(key)
        if not isinstance(value, str):
            raise self._fail(key, "a string")
        return value

    def optional_text(self, key: str) -> str:
        """A string that may be absent or null (read as empty)."""
        if self._data.get(key) is None:
            return ""
        return self.text(key)

    def integer(self, key: str) -> int:
        """A required integer (a float with no fraction is accepted; booleans are not)."""
        value = self._get(key)
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._fail(key, "an integer")
        return value

    def optional_integer(self, key: str) -> int:
        """An integer that may be absent or null (read as 0)."""
        if self._data.get(key) is None:
            return 0
        return self.integer(key)

    def number(self, key: str) -> float:
        """A required number."""
        return _number(self._get(key), lambda: self._fail(key, "a number"))

    def flag(self, key: str) -> bool:
        """A required boolean."""
        value = self._get(key)
        if not isinstance(value, bool):
            raise self._fail(key, "true or false")
        return value

    def texts(self, key: str, required: bool = True) -> tuple[str, ...]:
        """A list of strings (null is empty; absent too when not ``required``)."""
        values = (self._get(key) if required else self._data.get(key)) or []
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise self._fail(key, "a list of strings")
        return tuple(values)

    def numbers(self, key: str) -> dict[str, float]:
        """An object of string -> number (null is empty)."""
        values = self._get(key) or {}
        if not isinstance(values, dict):
            raise self._fail(key, "an object of numbers")
        return {
            k: _number(v, lambda: self._fail(key, "an object of numbers"))
            for k, v in values.items()
        }

    def child(self, key: str) -> Fields:
        """A required nested object."""
        return Fields(self._get(key), f"{self.where}.{key}")

    def optional_child(self, key: str) -> Fields | None:
        """A nested object that may be absent or null."""
        if self._data.get(key) is None:
            return None
        return self.child(key)

    def children(self, key: str) -> list[Fields]:
        """A list of objects (null is empty)."""
        values = self._get(key) or []
        if not isinstance(values, list):
            raise self._fail(key, "a list of objects")
        return [Fields(v, f"{self.where}.{key}[{i}]") for i, v in enumerate(values)]

    def keyed_children(self, key: str) -> dict[str, Fields]:
        """An object of string -> object (null is empty)."""
        values = self._get(key) or {}
        if not isinstance(values, dict):
            raise self._fail(key, "an object of objects")
        return {k: Fields(v, f"{self.where}.{key}[{k!r}]") for k, v in values.items()}

    def raw(self, key: str) -> Any:
        """The field's JSON value as decoded (must be present)."""
        return self._get(key)


def _number(value: object, failure: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise failure()
    return float(value)


def fields_of(document: object, where: str) -> Fields:
    """Shortcut for ``Fields(document, where)``."""
    return Fields(document, where)


def list_of(document: object, where: str) -> list[Fields]:
    """A top-level JSON list of objects (null is empty)."""
    if document is None:
        return []
    if not isinstance(document, list):
        raise LedgerDataError(f"{where} is not a JSON list", _HINT)
    return [Fields(item, f"{where}[{index}]") for index, item in enumerate(document)]


def compact(value: Mapping[str, Any]) -> str:
    """JSON text for a transaction argument: compact, keys sorted, finite numbers only."""
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except ValueError:
        raise LedgerDataError(
            "a transaction argument holds NaN or infinity", "send finite numbers only"
        ) from None
