"""SHA-256 content addresses: how one is computed and what a well-formed one looks like.

Adapters, optimizer states and TLS certificates are all named, on chain and on the wire, by the
SHA-256 of their bytes written as 64 lowercase hex characters.
"""

from __future__ import annotations

import hashlib
import re

SHA256_HEX = re.compile(r"[0-9a-f]{64}")


def sha256_hex(data: bytes) -> str:
    """Return the lowercase hex SHA-256 of ``data``: its content address."""
    return hashlib.sha256(data).hexdigest()


def is_sha256_hex(text: object) -> bool:
    """True when ``text`` is a string of exactly 64 lowercase hexadecimal characters."""
    return isinstance(text, str) and SHA256_HEX.fullmatch(text) is not None
