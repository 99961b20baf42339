"""Per-peer traffic counts: the "bytes per round" metric and the "only adapters left" check.

Bytes are serialized gRPC message sizes (request and response payloads), i.e. what the
application put on the wire before HTTP/2 and TLS framing. Artifact hashes are recorded too, so
an auditor can compare what crossed the wire with the adapter hashes recorded on chain.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field


@dataclass
class PeerTraffic:
    """What went to and came from one peer.

    Attributes
    ----------
    bytes_sent, bytes_received
        Serialized message bytes in each direction.
    artifacts_sent, artifacts_received
        SHA-256 of each artifact transferred completely, in order.
    """

    bytes_sent: int = 0
    bytes_received: int = 0
    artifacts_sent: list[str] = field(default_factory=list)
    artifacts_received: list[str] = field(default_factory=list)

    def copy(self) -> PeerTraffic:
        """An independent copy."""
        return PeerTraffic(
            self.bytes_sent,
            self.bytes_received,
            list(self.artifacts_sent),
            list(self.artifacts_received),
        )


class TrafficCounter:
    """Thread-safe counters keyed by peer (node id on the server side, endpoint on the client)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._peers: dict[str, PeerTraffic] = {}

    def _peer(self, peer: str) -> PeerTraffic:
        return self._peers.setdefault(peer, PeerTraffic())

    def add_sent(self, peer: str, nbytes: int) -> None:
        """Count ``nbytes`` sent to ``peer``."""
        with self._lock:
            self._peer(peer).bytes_sent += nbytes

    def add_received(self, peer: str, nbytes: int) -> None:
        """Count ``nbytes`` received from ``peer``."""
        with self._lock:
            self._peer(peer).bytes_received += nbytes

    def artifact_sent(self, peer: str, sha256: str) -> None:
        """Record that the whole artifact ``sha256`` was sent to ``peer``."""
        with self._lock:
            self._peer(peer).artifacts_sent.append(sha256)

    def artifact_received(self, peer: str, sha256: str) -> None:
        """Record that the artifact ``sha256`` was received from ``peer`` and verified."""
        with self._lock:
            self._peer(peer).artifacts_received.append(sha256)

    def snapshot(self) -> dict[str, PeerTraffic]:
        """Copy of the counts so far, by peer."""
        with self._lock:
            return {peer: traffic.copy() for peer, traffic in self._peers.items()}

    def take(self) -> dict[str, PeerTraffic]:
        """Return the counts so far and start from zero (e.g. at the end of a round)."""
        with self._lock:
            taken, self._peers = self._peers, {}
            return taken

    def total_bytes(self) -> int:
        """All bytes sent and received, over all peers."""
        with self._lock:
            return sum(t.bytes_sent + t.bytes_received for t in self._peers.values())
