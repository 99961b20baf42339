"""Node-to-node artifact exchange over gRPC with mutual TLS.

A node serves its artifacts (:class:`ArtifactServer`) to peers whose client certificate an
:class:`Authorizer` accepts, and pulls peers' artifacts with :class:`PeerClient`, which returns
bytes only after checking they hash to the requested SHA-256.
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
