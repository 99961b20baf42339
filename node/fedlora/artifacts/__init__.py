"""Adapter artifacts: deterministic safetensors codec, SHA-256 ids, content-addressed store."""

from fedlora.artifacts.codec import (
    DEFAULT_MAX_BYTES,
    MalformedAdapterError,
    Tensors,
    decode_adapter,
    decode_metadata,
    encode_adapter,
    read_header,
)
from fedlora.artifacts.store import (
    ArtifactHashMismatchError,
    ArtifactNotFoundError,
    ContentStore,
    check_sha256,
)
from fedlora.digests import sha256_hex

__all__ = [
    "DEFAULT_MAX_BYTES",
    "ArtifactHashMismatchError",
    "ArtifactNotFoundError",
    "ContentStore",
    "MalformedAdapterError",
    "Tensors",
    "check_sha256",
    "decode_adapter",
    "decode_metadata",
    "encode_adapter",
    "read_header",
    "sha256_hex",
]
