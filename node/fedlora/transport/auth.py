"""Who may fetch from this node: the peer is known by its client certificate, nothing else."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Protocol

from fedlora.certificates import certificate_fingerprint
from fedlora.transport.errors import TlsMaterialError
from fedlora.transport.tls import pem_to_der

_log = logging.getLogger(__name__)

# Key under which gRPC's TLS layer exposes the verified peer certificate in the auth context.
PEER_CERT_PEM_KEY = "x509_pem_cert"


class Authorizer(Protocol):
    """Decides whether a TLS-verified peer certificate belongs to an active node."""

    def authorize(self, peer_cert_der: bytes) -> str | None:
        """Return the peer's node id, or None to refuse it."""
        ...


class StaticAuthorizer:
    """Authorizes a fixed set of certificates, keyed by SHA-256 fingerprint.

    For tests and small fixed setups; a daemon plugs in an authorizer that asks the ledger
    whether the fingerprint is registered and active.

    Parameters
    ----------
    node_ids_by_fingerprint
        Lowercase hex SHA-256 fingerprint of the DER certificate -> node id.
    """

    def __init__(self, node_ids_by_fingerprint: Mapping[str, str]) -> None:
        self._node_ids = {fp.lower(): node_id for fp, node_id in node_ids_by_fingerprint.items()}

    def authorize(self, peer_cert_der: bytes) -> str | None:
        """Return the node id registered for this certificate, or None."""
        return self._node_ids.get(certificate_fingerprint(peer_cert_der))


def peer_certificate_der(auth_context: Mapping[str, Sequence[bytes]]) -> bytes | None:
    """Extract the peer's verified client certificate from a gRPC auth context.

    Returns
    -------
    bytes | None
        The DER certificate, or None when the connection carries no usable client certificate.
    """
    pems = auth_context.get(PEER_CERT_PEM_KEY) or []
    if not pems:
        return None
    try:
        return pem_to_der(pems[0])
    except TlsMaterialError:
        _log.warning("peer presented a certificate that cannot be parsed")
        return None
