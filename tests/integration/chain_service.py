"""The in-memory chain of the daemon tests, served over TCP to node processes on other hosts.

Test support only. `multiprocessing.managers` hands each node process a proxy whose calls run
on the test process's FakeLedger, one at a time under a lock, the way a peer orders
transactions. Return values are the contract's own records and travel as copies (pickled), as
reads from a real peer do. A host that is cut off loses its chain connection along with its
peers.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from multiprocessing.managers import BaseManager, Server

from tests.unit.daemon.fake_ledger import FakeLedger

from fedlora.ledger import ProposalDraft, Round, Session


class LockedView:
    """One node's view of the shared chain; every call holds the chain's lock."""

    def __init__(self, chain: FakeLedger, lock: threading.Lock, node_id: str) -> None:
        self._view, self._lock = chain.as_node(node_id), lock
        self._chain, self._node_id = chain, node_id

    def get_session(self, session_id: str) -> Session:
        with self._lock:
            return self._view.get_session(session_id)

    def get_round(self, session_id: str, round_number: int) -> Round:
        with self._lock:
            return self._view.get_round(session_id, round_number)

    def node_endpoint(self, node_id: str) -> str:
        with self._lock:
            return self._view.node_endpoint(node_id)

    def node_tls_fingerprint(self, node_id: str) -> str:
        with self._lock:
            return self._view.node_tls_fingerprint(node_id)

    def set_endpoint(self, endpoint: str, tls_fingerprint: str) -> None:
        """Register this node's endpoint and TLS certificate, as RegisterNode does."""
        with self._lock:
            self._chain.endpoints[self._node_id] = endpoint
            self._chain.tls_fingerprints[self._node_id] = tls_fingerprint

    def submit_update(
        self,
        session_id: str,
        number: int,
        sha: str,
        n: int,
        metrics: Mapping[str, float],
        epsilon_spent: float | None = None,
    ) -> None:
        with self._lock:
            self._view.submit_update(session_id, number, sha, n, metrics, epsilon_spent)

    def propose_aggregate(self, session_id: str, number: int, draft: ProposalDraft) -> None:
        with self._lock:
            self._view.propose_aggregate(session_id, number, draft)

    def endorse_aggregate(
        self, session_id: str, number: int, sha: str, accept: bool, reason: str
    ) -> None:
        with self._lock:
            self._view.endorse_aggregate(session_id, number, sha, accept, reason)

    def report_timeout(self, session_id: str, number: int) -> None:
        with self._lock:
            self._view.report_timeout(session_id, number)


class ChainClient(BaseManager):
    """What a node process uses: ``ChainClient(address, authkey).connect(); .view(node)``."""


ChainClient.register("view")


def serve_chain(
    chain: FakeLedger, lock: threading.Lock, host: str, authkey: bytes
) -> tuple[int, Server]:
    """Serve ``chain`` on ``host`` (any free port) from a daemon thread; returns (port, server)."""

    class ChainServer(BaseManager):
        pass

    def view(node_id: str) -> LockedView:
        return LockedView(chain, lock, node_id)

    ChainServer.register("view", callable=view)
    server = ChainServer(address=(host, 0), authkey=authkey).get_server()
    threading.Thread(target=server.serve_forever, name="fake-chain", daemon=True).start()
    return int(server.address[1]), server
