"""Mutual-TLS material of a node: its certificate and key, and the CAs whose nodes it trusts."""

from __future__ import annotations

import os
import ssl
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from fedlora.certificates import certificate_fingerprint
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


@contextmanager
def _memory_file(data: bytes) -> Iterator[str]:
    """A file path holding ``data`` that never touches a disk (ssl loads keys from files only)."""
    fd = os.memfd_create("fedlora-tls", os.MFD_CLOEXEC)
    try:
        with open(fd, "wb", closefd=False) as file:
            file.write(data)
        yield f"/proc/self/fd/{fd}"
    finally:
        os.close(fd)


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

    def channel_credentials(self, only_server_cert_pem: bytes | None = None) -> Any:
        """gRPC channel credentials presenting this node's certificate to the server.

        Parameters
        ----------
        only_server_cert_pem
            Trust this one server certificate instead of the member CAs (a pinned peer).
        """
        return grpc.ssl_channel_credentials(
            root_certificates=only_server_cert_pem or self._roots(),
            private_key=self.key_pem,
            certificate_chain=self.cert_pem,
        )

    def client_ssl_context(self) -> ssl.SSLContext:
        """A plain-TLS client context like the gRPC channel's: this node's certificate, member
        CAs as roots, HTTP/2 offered. The host name is not checked here; gRPC checks it."""
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.load_verify_locations(cadata=self._roots().decode("ascii"))
        with _memory_file(self.cert_pem) as cert_path, _memory_file(self.key_pem) as key_path:
            context.load_cert_chain(cert_path, key_path)
        context.set_alpn_protocols(["h2"])
        return context
