"""What a node keeps about a round between steps: which round, an update not yet on chain."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import msgspec

from fedlora.errors import FedloraError
from fedlora.fileio import write_json_atomic


@dataclass(frozen=True)
class RoundKey:
    """Which round an action is about."""

    session_id: str
    round_number: int


class PendingUpdate(msgspec.Struct, frozen=True):
    """An update trained and stored, recorded before it is submitted (the node's own file).

    A node restarted between training and submitting finds it and submits the same update.
    """

    sha256: str
    num_examples: int
    metrics: dict[str, float]
    epsilon_spent: float | None = None  # a DP session's spent epsilon (older records: none)

    def save(self, path: Path) -> None:
        """Write the record atomically."""
        write_json_atomic(path, msgspec.to_builtins(self))

    @classmethod
    def load(cls, path: Path) -> PendingUpdate:
        """Read a record written by :meth:`save`."""
        try:
            return msgspec.json.decode(path.read_bytes(), type=cls)
        except msgspec.DecodeError as error:
            raise FedloraError(
                f"pending update record {path} is unreadable: {error}",
                "delete it; the node then trains the round again",
            ) from None
