"""Request logic behind the AdapterExchange servicer, free of gRPC types.

The servicer turns the exceptions raised here into status codes; nothing here knows about
contexts or protobuf, so it can be tested and fuzzed directly.
"""

from __future__ import annotations

from typing import Protocol

from fedlora.digests import is_sha256_hex


class ArtifactSource(Protocol):
    """Where a node's artifacts come from (the daemon plugs in its content-addressed store).

    The server sends what ``open`` returns without hashing it again: a content-addressed store
    checked the bytes when it wrote them, and the receiving node checks every byte against the
    hash it asked for, so a corrupted copy is refused there and fetched from another holder.
    """

    def open(self, sha256: str) -> bytes | None:
        """Return the bytes stored as artifact ``sha256``, or None when it is not held."""
        ...


class InvalidArtifactRequest(Exception):
    """The request is malformed (maps to INVALID_ARGUMENT)."""


class UnknownArtifact(Exception):
    """The artifact is not held here (maps to NOT_FOUND)."""


def load_requested_artifact(source: ArtifactSource, sha256: str) -> bytes:
    """Validate a fetch request and load the artifact it names.

    The bytes are not hashed here (see :class:`ArtifactSource`): the receiver checks them.

    Parameters
    ----------
    source
        The node's artifacts.
    sha256
        The requested content address.

    Raises
    ------
    InvalidArtifactRequest, UnknownArtifact
        See each class.
    """
    if not is_sha256_hex(sha256):
        shown = sha256[:80]
        raise InvalidArtifactRequest(
            f"sha256 must be 64 lowercase hex characters, got {len(sha256)} chars: {shown!r}"
        )
    artifact = source.open(sha256)
    if artifact is None:
        raise UnknownArtifact(f"artifact {sha256} is not held by this node")
    return artifact
