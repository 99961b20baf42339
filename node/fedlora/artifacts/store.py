"""Content-addressed artifact store: files named by the SHA-256 of their bytes."""

from __future__ import annotations

from pathlib import Path

from fedlora.digests import is_sha256_hex, sha256_hex
from fedlora.errors import FedloraError
from fedlora.fileio import write_atomic


class ArtifactNotFoundError(FedloraError):
    """The store holds no artifact with the requested hash."""


class ArtifactHashMismatchError(FedloraError):
    """Bytes whose SHA-256 is not the one they were announced or stored under."""


def check_sha256(sha256: str) -> str:
    """Return ``sha256`` if it is 64 lowercase hex characters, else raise FedloraError."""
    if not is_sha256_hex(sha256):
        raise FedloraError(
            f"{sha256!r} is not a SHA-256 content address",
            "expected 64 lowercase hex characters",
        )
    return sha256


class ContentStore:
    """Artifacts on disk under ``root/<first two hex>/<sha256>``.

    Writes are atomic (temporary file in the same folder, fsync, rename), so a reader never
    sees a half-written artifact, and reads re-check the hash so disk corruption is caught.

    Parameters
    ----------
    root : Path
        Folder of the store; created on first write.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        """Return where the artifact with this hash lives (whether or not it exists)."""
        check_sha256(sha256)
        return self.root / sha256[:2] / sha256

    def has(self, sha256: str) -> bool:
        """Return True if the store holds the artifact."""
        return self.path(sha256).is_file()

    def put(self, data: bytes) -> str:
        """Store ``data`` and return its SHA-256; storing the same bytes twice is a no-op."""
        sha256 = sha256_hex(data)
        target = self.path(sha256)
        if target.is_file():
            return sha256
        write_atomic(target, data, fsync=True)
        return sha256

    def put_verified(self, data: bytes, expected_sha256: str) -> str:
        """Store ``data`` only if its SHA-256 equals ``expected_sha256``.

        Raises
        ------
        ArtifactHashMismatchError
            When the bytes hash to something else (nothing is written).
        """
        check_sha256(expected_sha256)
        actual = sha256_hex(data)
        if actual != expected_sha256:
            raise ArtifactHashMismatchError(
                f"received bytes hash to {actual[:16]}..., expected {expected_sha256[:16]}...",
                "the artifact was corrupted or substituted in transit; fetch it again",
            )
        return self.put(data)

    def get(self, sha256: str) -> bytes:
        """Return the stored bytes, re-checking their hash.

        Raises
        ------
        ArtifactNotFoundError
            When the store does not hold it.
        ArtifactHashMismatchError
            When the file on disk no longer matches its name.
        """
        target = self.path(sha256)
        try:
            data = target.read_bytes()
        except FileNotFoundError:
            raise ArtifactNotFoundError(
                f"artifact {sha256[:16]}... is not in the store at {self.root}",
                "fetch it from a peer first",
            ) from None
        if sha256_hex(data) != sha256:
            raise ArtifactHashMismatchError(
                f"stored artifact {target} does not match its hash (disk corruption?)",
                "delete the file and fetch it again",
            )
        return data
