"""Node-to-node artifact exchange over gRPC with mutual TLS.

A node serves its artifacts (:class:`ArtifactServer`) to peers whose client certificate an
:class:`Authorizer` accepts, and pulls peers' artifacts with :class:`PeerClient`, which returns
bytes only after checking they hash to the requested SHA-256.

Wiring, as a daemon does it::

    tls = TlsMaterial.from_files(cert, key, member_ca_files)
    with ArtifactServer(source=store, authorizer=ledger_authorizer, tls=tls,
                        node_id=me, address="0.0.0.0:7051") as server:
        with PeerClient("peer1.org2.example:7051", tls) as peer:
            adapter = peer.fetch(sha256_from_ledger, max_bytes=64 * 2**20)

Fingerprints (:func:`certificate_fingerprint`) are SHA-256 over the DER certificate in
lowercase hex; ``server.traffic`` and ``peer.traffic`` count bytes and artifacts per peer.
"""

from fedlora.transport.auth import Authorizer, StaticAuthorizer, peer_certificate_der
from fedlora.transport.chunking import DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE, is_sha256_hex
from fedlora.transport.client import ClientTimeouts, PeerClient, PeerHealth, RetryPolicy
from fedlora.transport.errors import (
    ArtifactIntegrityError,
    ArtifactNotFoundError,
    ArtifactTooLargeError,
    PeerRefusedError,
    PeerUnavailableError,
    TlsMaterialError,
    TransportError,
)
from fedlora.transport.handlers import ArtifactSource
from fedlora.transport.metrics import PeerTraffic, TrafficCounter
from fedlora.transport.server import ArtifactServer
from fedlora.transport.tls import TlsMaterial, certificate_fingerprint

__all__ = [
    "DEFAULT_CHUNK_SIZE",
    "MAX_CHUNK_SIZE",
    "ArtifactIntegrityError",
    "ArtifactNotFoundError",
    "ArtifactServer",
    "ArtifactSource",
    "ArtifactTooLargeError",
    "Authorizer",
    "ClientTimeouts",
    "PeerClient",
    "PeerHealth",
    "PeerRefusedError",
    "PeerTraffic",
    "PeerUnavailableError",
    "RetryPolicy",
    "StaticAuthorizer",
    "TlsMaterial",
    "TlsMaterialError",
    "TrafficCounter",
    "TransportError",
    "certificate_fingerprint",
    "is_sha256_hex",
    "peer_certificate_der",
]
