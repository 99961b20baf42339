"""Errors the transport raises; each is a FedloraError with one actionable line."""

from __future__ import annotations

from fedlora.errors import FedloraError


class TransportError(FedloraError):
    """Talking to a peer node failed."""


class ArtifactIntegrityError(TransportError):
    """A peer sent bytes that are not the artifact asked for (hash, order, length or framing)."""


class ArtifactTooLargeError(TransportError):
    """A peer offered an artifact larger than the caller accepts."""


class PeerLacksArtifactError(TransportError):
    """The peer does not hold the requested artifact."""


class PeerRefusedError(TransportError):
    """The peer refused the request (not authorized, or the request was malformed)."""


class PeerIdentityError(TransportError):
    """The server at a node's endpoint is not that node: not the certificate it registered."""


class PeerUnavailableError(TransportError):
    """The peer could not be reached in time, including after retries."""


class TlsMaterialError(TransportError):
    """Certificate, key or CA files are missing or unusable."""
