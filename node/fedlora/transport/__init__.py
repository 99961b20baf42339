"""Node-to-node artifact exchange over gRPC with mutual TLS.

A node serves its artifacts (:class:`ArtifactServer`) to peers whose client certificate an
:class:`Authorizer` accepts, and pulls peers' artifacts with :class:`PeerClient` (one per peer,
kept open by :class:`PeerClients`), which returns bytes only after checking, as they arrive,
that they hash to the requested SHA-256.

Wiring, as a daemon does it::

    tls = TlsMaterial.from_files(cert, key, member_ca_files)
    with ArtifactServer(source=store, authorizer=ledger_authorizer, tls=tls,
                        node_id=me, address="0.0.0.0:7051") as server:
        pinned = PinnedPeer(peer_node_id, tls_sha256_from_ledger)
        with PeerClients(tls, traffic) as peers:  # one channel per peer, reused
            adapter = peers.fetch(pinned, "peer1.org2.example:7051", sha256_from_ledger,
                                  max_bytes=64 * 2**20, deadline_s=left_s)

Fingerprints (:func:`certificate_fingerprint`) are SHA-256 over the DER certificate in
lowercase hex; ``server.traffic`` and ``peer.traffic`` count bytes and artifacts per peer.
A server bounds what each peer may hold (:class:`ServingLimits`); a pinned client accepts only
the server certificate its node registered on chain (:class:`PinnedPeer`).
"""

from fedlora.certificates import certificate_fingerprint
from fedlora.transport.auth import Authorizer, StaticAuthorizer, peer_certificate_der
from fedlora.transport.chunking import DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE
from fedlora.transport.client import ClientTimeouts, PeerClient, PeerHealth
from fedlora.transport.errors import (
    ArtifactIntegrityError,
    ArtifactTooLargeError,
    PeerIdentityError,
    PeerLacksArtifactError,
    PeerRefusedError,
    PeerUnavailableError,
    TlsMaterialError,
    TransportError,
)
from fedlora.transport.handlers import ArtifactSource
from fedlora.transport.limits import ServingLimits
from fedlora.transport.metrics import PeerTraffic, TrafficCounter
from fedlora.transport.peers import PeerClients
from fedlora.transport.pinning import PinnedPeer
from fedlora.transport.server import ArtifactServer
from fedlora.transport.tls import TlsMaterial

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "MAX_CHUNK_SIZE",
    "ArtifactIntegrityError",
    "ArtifactServer",
    "ArtifactSource",
    "ArtifactTooLargeError",
    "Authorizer",
    "ClientTimeouts",
    "PeerClient",
    "PeerClients",
    "PeerHealth",
    "PeerIdentityError",
    "PeerLacksArtifactError",
    "PeerRefusedError",
    "PeerTraffic",
    "PeerUnavailableError",
    "PinnedPeer",
    "ServingLimits",
    "StaticAuthorizer",
    "TlsMaterial",
    "TlsMaterialError",
    "TrafficCounter",
    "TransportError",
    "certificate_fingerprint",
    "peer_certificate_der",
]
