"""Bind the coordinator's ports to the real parts: the chain, the peers, the content store.

This module is where the ledger client and the transport meet, and the only place that may:
the transport authorizes a peer's certificate by asking the chain whether its fingerprint is
registered and active, and the fetcher finds a peer's endpoint on the chain and holds the server
there to the TLS fingerprint the peer registered.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Mapping
from pathlib import Path

from fedlora.artifacts import ContentStore
from fedlora.config import NodeConfig
from fedlora.errors import FedloraError
from fedlora.identity import load_msp_dir
from fedlora.ledger import Gateway, LedgerError, ProposalDraft, Round, Session
from fedlora.ledger.contract import ConsortiumContract, rejection_code
from fedlora.transport import PeerClients, PinnedPeer, TlsMaterial, TrafficCounter


class ChainLedger:
    """The coordinator's LedgerPort over the typed consortium contract."""

    def __init__(self, contract: ConsortiumContract) -> None:
        self.contract = contract

    def get_session(self, session_id: str) -> Session:
        """The session record."""
        return self.contract.get_session(session_id)

    def get_round(self, session_id: str, round_number: int) -> Round:
        """One round's record."""
        return self.contract.get_round(session_id, round_number)

    def node_endpoint(self, node_id: str) -> str:
        """Where ``node_id`` serves its artifacts."""
        return self.contract.node_endpoint(node_id)

    def node_tls_fingerprint(self, node_id: str) -> str:
        """SHA-256 of the TLS certificate ``node_id`` registered; its server must present it."""
        return self.contract.get_node(node_id).tls_cert_sha256

    def submit_update(
        self,
        session_id: str,
        round_number: int,
        sha256: str,
        n: int,
        metrics: Mapping[str, float],
        epsilon_spent: float | None = None,
    ) -> None:
        """Record this node's update (and, under a DP budget, the epsilon it has spent)."""
        self.contract.submit_update(session_id, round_number, sha256, n, metrics, epsilon_spent)

    def propose_aggregate(self, session_id: str, round_number: int, draft: ProposalDraft) -> None:
        """Record the aggregate; its rule is the session's own (the chain requires the match)."""
        self.contract.propose_aggregate(session_id, round_number, draft)

    def endorse_aggregate(
        self, session_id: str, round_number: int, sha256: str, accept: bool, reason: str
    ) -> None:
        """Accept or reject the proposal."""
        self.contract.endorse_aggregate(session_id, round_number, sha256, accept, reason)

    def report_timeout(self, session_id: str, round_number: int) -> None:
        """Move an overdue round on."""
        self.contract.report_timeout(session_id, round_number)


class ChainAuthorizer:
    """Serve a peer only if its TLS certificate is an active node's and it takes part.

    The TLS layer has already checked that the certificate chains to a member CA; this adds that
    the certificate is registered on chain to an active node and, with ``session_id``, that the
    node is a participant of that session: an update is raw material of one hospital, for the
    members it was shared with only. The chain's answers are cached for a few seconds: a
    handshake must not cost a ledger query, and registrations change rarely.
    """

    def __init__(
        self, contract: ConsortiumContract, session_id: str = "", ttl_seconds: float = 5.0
    ) -> None:
        self._contract, self._session_id, self._ttl = contract, session_id, ttl_seconds
        self._lock = threading.Lock()
        self._by_fingerprint: dict[str, str] = {}
        self._loaded_at = -float("inf")

    def authorize(self, peer_cert_der: bytes) -> str | None:
        """The node id owning this certificate, or None to refuse."""
        fingerprint = hashlib.sha256(peer_cert_der).hexdigest()
        with self._lock:
            if time.monotonic() - self._loaded_at > self._ttl:
                self._by_fingerprint = self._load()
                self._loaded_at = time.monotonic()
            return self._by_fingerprint.get(fingerprint)

    def _load(self) -> dict[str, str]:
        active = {n.tls_cert_sha256: n.node_id for n in self._contract.list_nodes()
                  if n.status == "active"}  # fmt: skip
        if not self._session_id:
            return active
        participants = set(self._contract.get_session(self._session_id).participants)
        return {tls: node for tls, node in active.items() if node in participants}


class StoreSource:
    """Serve artifacts from the node's content store (the transport's ArtifactSource)."""

    def __init__(self, store: ContentStore) -> None:
        self._store = store

    def open(self, sha256: str) -> bytes | None:
        """The artifact's bytes, or None when this node does not hold it."""
        return self._store.get(sha256) if self._store.has(sha256) else None


class SessionStoreSource:
    """Serve from the node's content store only the artifacts recorded in one session.

    The store may hold other sessions' updates; their hashes are public on chain, so without
    this check a participant of this session could download them.
    """

    def __init__(self, store: ContentStore, contract: ConsortiumContract, session_id: str) -> None:
        self._source, self._contract, self._session_id = StoreSource(store), contract, session_id
        self._recorded: set[str] = set()
        self._lock = threading.Lock()

    def open(self, sha256: str) -> bytes | None:
        """The artifact's bytes, or None when this node does not hold it for this session."""
        data = self._source.open(sha256)
        return data if data is not None and self._recorded_here(sha256) else None

    def _recorded_here(self, sha256: str) -> bool:
        with self._lock:
            if sha256 in self._recorded:
                return True
        try:
            self._contract.adapter_lineage(sha256, self._session_id)
        except LedgerError as error:
            if rejection_code(error) in ("NOT_FOUND", "BAD_ARGUMENT"):
                return False
            raise
        with self._lock:
            self._recorded.add(sha256)
        return True


class PeerFetcher:
    """The coordinator's FetchPort: dial the owner's registered endpoint over mutual TLS.

    The server there must present the very certificate the owner registered on chain: any
    member's certificate chains to a trusted CA, so without the pin one member could answer
    for another at a hijacked name or address.
    """

    def __init__(
        self, ledger: ChainLedger, tls: TlsMaterial, max_bytes: int, traffic: TrafficCounter
    ) -> None:
        self._ledger, self._max_bytes, self.traffic = ledger, max_bytes, traffic
        self._peers = PeerClients(tls, traffic)  # one pinned channel per peer, reused

    def fetch(self, node_id: str, sha256: str, deadline_s: float | None = None) -> bytes:
        """Bytes of ``sha256`` from ``node_id``, hash-checked by the transport.

        ``deadline_s`` bounds the whole fetch (the transport's default when None); pass the
        seconds left until the round's phase deadline.
        """
        endpoint = self._ledger.node_endpoint(node_id)
        pinned = PinnedPeer(node_id, self._ledger.node_tls_fingerprint(node_id))
        return self._peers.fetch(pinned, endpoint, sha256, self._max_bytes, deadline_s=deadline_s)

    def close(self) -> None:
        """Close the channels to the peers."""
        self._peers.close()


def node_tls(config: NodeConfig) -> TlsMaterial:
    """The node's mTLS identity and the member TLS CAs it trusts."""
    tls_dir = config.identity.tls_dir
    trust_dir = config.fabric.member_cas_dir
    cas = sorted(trust_dir.glob("*.pem")) if trust_dir else [tls_dir / "ca.crt"]
    if not cas:
        raise FedloraError(f"no member CA certificates in {trust_dir}", "rerun `fedlora node init`")
    return TlsMaterial.from_files(tls_dir / "client.crt", tls_dir / "client.key", cas)


def open_contract(
    config: NodeConfig, msp_dir: Path | None = None
) -> tuple[Gateway, ConsortiumContract, str]:
    """Connect to the org peer's Gateway; returns gateway, contract and the signer's id.

    Transactions are signed as the node itself, or as the identity in ``msp_dir`` (e.g. the
    org admin's, for creating a session) when it is given.
    """
    msp = load_msp_dir(msp_dir or config.identity.msp_dir, config.identity.msp_id)
    gateway = Gateway.connect(
        config.fabric.gateway,
        Path(config.fabric.gateway_tls_ca).read_bytes(),
        msp.identity,
        msp.signer(),
    )
    contract = gateway.network(config.fabric.channel).contract(config.fabric.chaincode)
    return gateway, ConsortiumContract(contract), msp.identity.node_id
