"""Split an artifact into ordered chunks and put it back together, trusting nothing received.

Pure functions and a small state machine; no gRPC, so the rules can be tested and fuzzed alone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

from fedlora.transport.errors import ArtifactIntegrityError, ArtifactTooLargeError

MIB = 1024 * 1024
DEFAULT_CHUNK_SIZE = 1 * MIB
# Upper bound for a chunk's data; message-size limits on both ends are derived from it.
MAX_CHUNK_SIZE = 4 * MIB
# Room for the other fields and protobuf framing around a chunk's data.
MESSAGE_OVERHEAD = 64 * 1024


@dataclass(frozen=True)
class Chunk:
    """One piece of an artifact, as carried by an ``ArtifactChunk`` message.

    Attributes
    ----------
    data
        The bytes of this piece: a view into the artifact (sending) or into the message that
        carried it (receiving), so that no chunk is copied on its way.
    offset
        Position of ``data[0]`` in the artifact.
    total_size
        Size of the whole artifact.
    sha256
        Hash of the whole artifact in the first chunk, empty in the others.
    """

    data: bytes | memoryview
    offset: int
    total_size: int
    sha256: str = ""


def split_into_chunks(artifact: bytes, sha256: str, chunk_size: int) -> Iterator[Chunk]:
    """Yield the chunks of ``artifact`` in order; an empty artifact gives one empty chunk.

    Each chunk's data is a view into ``artifact``, not a copy.

    Parameters
    ----------
    artifact
        The bytes to send.
    sha256
        Their hash, put in the first chunk.
    chunk_size
        Maximum data bytes per chunk, between 1 and ``MAX_CHUNK_SIZE``.
    """
    if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
        raise ValueError(f"chunk_size must be in 1..{MAX_CHUNK_SIZE}, got {chunk_size}")
    total = len(artifact)
    view = memoryview(artifact)
    for offset in range(0, max(total, 1), chunk_size):
        yield Chunk(
            data=view[offset : offset + chunk_size],
            offset=offset,
            total_size=total,
            sha256=sha256 if offset == 0 else "",
        )


class ChunkAssembler:
    """Reassemble one artifact from a stream of chunks, refusing anything inconsistent.

    Feed chunks with :meth:`add` as they arrive (it raises as soon as the stream is wrong, so
    the caller can stop reading), then call :meth:`finish` at the end of the stream. The bytes
    are hashed once, as they arrive, and copied once, into the artifact :meth:`finish` returns.

    Parameters
    ----------
    expected_sha256
        The hash that was asked for; the result must hash to exactly this.
    max_bytes
        Largest artifact accepted; a larger announced size is refused at the first chunk.
    """

    def __init__(self, expected_sha256: str, max_bytes: int) -> None:
        self._expected = expected_sha256
        self._max_bytes = max_bytes
        self._parts: list[bytes | memoryview] = []
        self._received = 0
        self._total: int | None = None
        self._hash = hashlib.sha256()

    def _refuse(self, what: str) -> ArtifactIntegrityError:
        return ArtifactIntegrityError(
            f"artifact {self._expected[:12]}: {what}",
            "the peer sent a corrupt stream; nothing was kept, fetch it again or from another peer",
        )

    def _check_first(self, chunk: Chunk) -> None:
        if chunk.total_size > self._max_bytes:
            raise ArtifactTooLargeError(
                f"artifact {self._expected[:12]} is {chunk.total_size} bytes, "
                f"over the {self._max_bytes}-byte limit",
                "raise the limit only if an adapter of that size is expected",
            )
        if chunk.sha256 != self._expected:
            raise self._refuse(f"first chunk announces sha256 {chunk.sha256[:12]!r}")

    def add(self, chunk: Chunk) -> None:
        """Accept the next chunk, or raise if it does not continue the stream exactly."""
        if self._total is None:
            self._check_first(chunk)
            self._total = chunk.total_size
        elif chunk.sha256:
            raise self._refuse(f"sha256 repeated in the chunk at offset {chunk.offset}")
        if chunk.total_size != self._total:
            raise self._refuse(f"total size changed from {self._total} to {chunk.total_size}")
        if chunk.offset != self._received:
            raise self._refuse(f"chunk at offset {chunk.offset}, expected {self._received}")
        if self._received + len(chunk.data) > self._total:
            raise self._refuse(f"more than the announced {self._total} bytes")
        self._parts.append(chunk.data)
        self._received += len(chunk.data)
        self._hash.update(chunk.data)

    def finish(self) -> bytes:
        """Return the artifact once the stream has ended and its hash matches.

        Raises
        ------
        ArtifactIntegrityError
            On an empty or truncated stream, or bytes whose SHA-256 is not the one asked for.
        """
        if self._total is None:
            raise self._refuse("the stream ended before the first chunk")
        if self._received != self._total:
            raise self._refuse(f"stream truncated at {self._received} of {self._total} bytes")
        if self._hash.hexdigest() != self._expected:
            raise self._refuse(f"received bytes hash to {self._hash.hexdigest()[:12]}")
        return b"".join(self._parts)
