"""Mutual-TLS material of a node: its certificate and key, and the CAs whose nodes it trusts."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from fedlora.transport.errors import TlsMaterialError


def _load_certificate(cert_pem: bytes) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(cert_pem)
    except ValueError as error:
        raise TlsMaterialError(
            f"not a PEM certificate ({error})", "pass the certificate file in PEM form"
        ) from None


def pem_to_der(cert_pem: bytes) -> bytes:
    """Convert the first certificate of a PEM file to DER.

    Raises
    ------
    TlsMaterialError
        When the bytes are not a PEM certificate.
    """
    return _load_certificate(cert_pem).public_bytes(serialization.Encoding.DER)


def certificate_fingerprint(cert_der: bytes) -> str:
    """SHA-256 fingerprint of a DER certificate, as 64 lowercase hex characters.

    This is the form registered on chain for each node's TLS certificate.
    """
    return hashlib.sha256(cert_der).hexdigest()


def _read(path: Path, what: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise TlsMaterialError(
            f"cannot read {what} {path}: {error.strerror}",
            "check the node's MSP/TLS directory (fedlora node init writes it)",
        ) from None


@dataclass(frozen=True)
class TlsMaterial:
    """A node's TLS identity and trust roots, validated on construction.

    Attributes
    ----------
    cert_pem
        The node's certificate (PEM), optionally followed by intermediate certificates.
    key_pem
        The private key of that certificate (PEM, unencrypted).
    trusted_ca_pems
        Root certificates of every channel member's CA; peers must chain to one of them.
    """

    cert_pem: bytes
    key_pem: bytes
    trusted_ca_pems: tuple[bytes, ...]

    def __post_init__(self) -> None:
        if not self.trusted_ca_pems:
            raise TlsMaterialError("no trusted CA certificates given", "pass each member's CA cert")
        for ca_pem in self.trusted_ca_pems:
            _load_certificate(ca_pem)
        cert = _load_certificate(self.cert_pem)
        try:
            key = serialization.load_pem_private_key(self.key_pem, password=None)
        except (ValueError, TypeError) as error:
            raise TlsMaterialError(
                f"unusable private key ({error})", "pass the unencrypted PEM key of the node"
            ) from None
        if cert.public_key() != key.public_key():
            raise TlsMaterialError(
                "the private key does not belong to the certificate",
                "pass the key file from the same MSP keystore as the certificate",
            )

    @classmethod
    def from_files(cls, cert_path: Path, key_path: Path, ca_paths: Sequence[Path]) -> TlsMaterial:
        """Load certificate, key and trusted CA certificates from PEM files.

        Parameters
        ----------
        cert_path, key_path
            The node's TLS certificate and private key.
        ca_paths
            One PEM file per trusted CA (a file may hold several certificates).
        """
        cert_pem, key_pem = _read(cert_path, "certificate"), _read(key_path, "private key")
        return cls(cert_pem, key_pem, tuple(_read(path, "CA certificate") for path in ca_paths))

    @property
    def fingerprint(self) -> str:
        """SHA-256 fingerprint of this node's own certificate."""
        return certificate_fingerprint(pem_to_der(self.cert_pem))

    def _roots(self) -> bytes:
        return b"\n".join(pem.strip() for pem in self.trusted_ca_pems) + b"\n"

    def server_credentials(self) -> Any:
        """gRPC server credentials that demand and verify a client certificate."""
        return grpc.ssl_server_credentials(
            [(self.key_pem, self.cert_pem)],
            root_certificates=self._roots(),
            require_client_auth=True,
        )

    def channel_credentials(self) -> Any:
        """gRPC channel credentials presenting this node's certificate to the server."""
        return grpc.ssl_channel_credentials(
            root_certificates=self._roots(),
            private_key=self.key_pem,
            certificate_chain=self.cert_pem,
        )
