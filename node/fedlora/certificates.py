"""X.509 helpers shared by enrollment, the MSP loader and the transport's throwaway PKI."""

from __future__ import annotations

import ipaddress

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from fedlora.digests import sha256_hex


def certificate_fingerprint(cert_der: bytes) -> str:
    """SHA-256 of a DER certificate, as 64 lowercase hex: how the chain names a TLS certificate."""
    return sha256_hex(cert_der)


def general_name(host: str) -> x509.GeneralName:
    """The subject-alternative-name entry for ``host``: an IP address entry if it parses as one."""
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)


def private_key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    """``key`` as unencrypted PKCS#8 PEM, the form cryptogen writes and Fabric reads."""
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
