"""One open, pinned client per peer node, reused from fetch to fetch."""

from __future__ import annotations

import threading
from types import TracebackType

from fedlora.transport.client import ClientTimeouts, PeerClient
from fedlora.transport.errors import PeerIdentityError, PeerUnavailableError
from fedlora.transport.metrics import TrafficCounter
from fedlora.transport.pinning import PinnedPeer
from fedlora.transport.tls import TlsMaterial


class PeerClients:
    """Keep a :class:`PeerClient` per node instead of dialling (and closing) one per fetch.

    A client checks its node's pin when it opens its channel, and the channel then trusts that
    one certificate only, so a reused channel holds the server to the pin as a new one would.
    A client is replaced when the node's endpoint or registered fingerprint changes, and
    dropped after its node was unreachable or failed the pin, so the next fetch dials afresh.

    Parameters
    ----------
    tls
        This node's certificate and key, and the trusted member CAs.
    traffic
        Counter every client records its traffic in.
    timeouts
        Deadlines per call.
    """

    def __init__(
        self,
        tls: TlsMaterial,
        traffic: TrafficCounter,
        timeouts: ClientTimeouts | None = None,
    ) -> None:
        self._tls, self._traffic = tls, traffic
        self._timeouts = timeouts or ClientTimeouts()
        self._lock = threading.Lock()
        self._clients: dict[str, PeerClient] = {}

    def fetch(
        self,
        pinned: PinnedPeer,
        endpoint: str,
        sha256: str,
        max_bytes: int,
        deadline_s: float | None = None,
    ) -> bytes:
        """Fetch ``sha256`` from ``pinned``'s node at ``endpoint`` (see PeerClient.fetch)."""
        client = self._client(pinned, endpoint)
        try:
            return client.fetch(sha256, max_bytes, deadline_s=deadline_s)
        except (PeerUnavailableError, PeerIdentityError):
            self._drop(pinned.node_id, client)
            raise

    def _client(self, pinned: PinnedPeer, endpoint: str) -> PeerClient:
        with self._lock:
            held = self._clients.get(pinned.node_id)
            if held is not None and (held.endpoint, held.pinned) == (endpoint, pinned):
                return held
            client = PeerClient(
                endpoint, self._tls, pinned=pinned, timeouts=self._timeouts, traffic=self._traffic
            )
            self._clients[pinned.node_id] = client
        if held is not None:
            held.close()
        return client

    def _drop(self, node_id: str, client: PeerClient) -> None:
        with self._lock:
            if self._clients.get(node_id) is client:
                del self._clients[node_id]
        client.close()

    def close(self) -> None:
        """Close every client."""
        with self._lock:
            clients, self._clients = list(self._clients.values()), {}
        for client in clients:
            client.close()

    def __enter__(self) -> PeerClients:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
