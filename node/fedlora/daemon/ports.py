"""What the round coordinator needs from the outside world, as narrow protocols.

The daemon's composition root binds these to the real parts (the Fabric contract wrapper, the
gRPC peer clients, the local trainer); unit tests bind them to small in-memory stand-ins. Keeping
them narrow is what lets the coordinator be read, and tested, on its own. What crosses them is
the chain's own records (:mod:`fedlora.ledger.records`), whichever side is bound.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from fedlora.artifacts import Tensors
from fedlora.ledger import ProposalDraft, Round, Session


class LedgerPort(Protocol):
    """The consortium contract, as the coordinator uses it."""

    def get_session(self, session_id: str) -> Session:
        """The session record."""
        ...

    def get_round(self, session_id: str, round_number: int) -> Round:
        """One round's record."""
        ...

    def node_endpoint(self, node_id: str) -> str:
        """The registered AdapterExchange endpoint of ``node_id``."""
        ...

    def submit_update(
        self,
        session_id: str,
        round_number: int,
        sha256: str,
        num_examples: int,
        metrics: Mapping[str, float],
        epsilon_spent: float | None = None,
    ) -> None:
        """Record this node's update for the round (with its spent epsilon under a DP budget)."""
        ...

    def propose_aggregate(self, session_id: str, round_number: int, draft: ProposalDraft) -> None:
        """Record the aggregate this node computed as the round's aggregator."""
        ...

    def endorse_aggregate(
        self, session_id: str, round_number: int, sha256: str, accept: bool, reason: str
    ) -> None:
        """Accept or reject the proposed aggregate."""
        ...

    def report_timeout(self, session_id: str, round_number: int) -> None:
        """Tell the chain that the current phase's deadline has passed."""
        ...


class FetchPort(Protocol):
    """Pull an artifact by hash from a peer node; bytes come back already hash-checked."""

    def fetch(self, node_id: str, sha256: str, deadline_s: float | None = None) -> bytes:
        """Return the artifact ``sha256`` held by ``node_id``, within ``deadline_s`` if given."""
        ...


@dataclass(frozen=True)
class LocalUpdate:
    """What local training produced for one round."""

    tensors: Tensors
    num_examples: int
    metrics: Mapping[str, float]
    epsilon_spent: float | None = None  # in a session with a DP budget: spent so far, this included


class TrainerPort(Protocol):
    """The node's local training, on data that never leaves it."""

    def initial_adapter(self, seed: int) -> Tensors:
        """The round-1 global adapter: the same on every node for the same seed."""
        ...

    def train(self, global_tensors: Tensors, round_number: int, proximal_mu: float) -> LocalUpdate:
        """Train from ``global_tensors`` on local data and return the update."""
        ...
