"""Hold a peer to the TLS certificate its node registered on chain, not just to a member CA.

Every member's certificate chains to a trusted CA, so a CA check alone lets one member answer
at another's endpoint (a hijacked DNS name, a reused address, a redirected route). gRPC's Python
client cannot show which certificate a server presented, so the pin takes two steps: a plain TLS
handshake fetches the server's certificate, whose SHA-256 must be the registered fingerprint;
then the gRPC channel is built trusting that one certificate and nothing else. The connection
that carries requests is thus refused unless its server proves it holds that certificate's key,
even when it is not the server that answered the first handshake.
"""

from __future__ import annotations

import re
import socket
import ssl
from dataclasses import dataclass

from fedlora.certificates import certificate_fingerprint
from fedlora.transport.errors import PeerIdentityError, TransportError
from fedlora.transport.tls import TlsMaterial

# Host names, IPv4 and IPv6 addresses (with a zone); nothing a resolver would choke on.
_HOST = re.compile(r"[A-Za-z0-9._%:-]{1,253}")
_PORT = re.compile(r"[0-9]{1,5}")


@dataclass(frozen=True)
class PinnedPeer:
    """The node a client expects at an endpoint, with its registered TLS fingerprint.

    Attributes
    ----------
    node_id
        The node, as registered on chain (named in errors).
    tls_cert_sha256
        SHA-256 of its DER TLS certificate, as registered on chain.
    """

    node_id: str
    tls_cert_sha256: str

    def accept(self, endpoint: str, presented_der: bytes) -> bytes:
        """Return the presented certificate as PEM if it is the registered one.

        Raises
        ------
        PeerIdentityError
            When its SHA-256 differs from the registered fingerprint.
        """
        presented = certificate_fingerprint(presented_der)
        if presented != self.tls_cert_sha256.lower():
            raise PeerIdentityError(
                f"{endpoint} is not node {self.node_id}: it presented TLS certificate "
                f"{presented[:16]}..., but {self.node_id} registered "
                f"{self.tls_cert_sha256[:16]}... on chain; nothing was requested from it",
                "fetch from another holder; if the node changed its certificate, it must "
                "update its registration",
            )
        return ssl.DER_cert_to_PEM_cert(presented_der).encode("ascii")


def split_endpoint(endpoint: str) -> tuple[str, int]:
    """``host:port`` (or ``[v6]:port``) as a host and a port number.

    The endpoint is whatever its node registered, so anything but a plain host and a port in
    1..65535 is refused here rather than handed to the resolver.
    """
    host, _, port = endpoint.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not _HOST.fullmatch(host) or not _PORT.fullmatch(port) or not 0 < int(port) < 65536:
        raise TransportError(
            f"endpoint {endpoint[:80]!r} is not host:port", "the node must register host:port"
        )
    return host, int(port)


def presented_certificate(
    endpoint: str, tls: TlsMaterial, timeout_s: float, server_name: str | None = None
) -> bytes:
    """The DER certificate the server at ``endpoint`` presents, from one TLS handshake.

    The handshake is the gRPC channel's (this node's certificate, the member CAs as roots), so
    the server sees an ordinary client that closes before its first request.

    Raises
    ------
    ssl.SSLCertVerificationError
        The certificate does not verify against the member CAs (foreign, expired...).
    OSError
        No handshake completed within ``timeout_s`` (refused, unreachable, reset).
    """
    host, port = split_endpoint(endpoint)
    context = tls.client_ssl_context()
    with (
        socket.create_connection((host, port), timeout=timeout_s) as raw,
        context.wrap_socket(raw, server_hostname=server_name or host) as connection,
    ):
        presented = connection.getpeercert(binary_form=True)
    if presented is None:  # not reachable with CERT_REQUIRED, but typed as optional
        raise ssl.SSLError("the server presented no certificate")
    return presented
