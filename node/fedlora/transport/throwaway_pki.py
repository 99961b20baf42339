"""Short-lived CAs and certificates for loopback runs (benchmarks, tests, local simulation).

Real deployments use the MSP material of each member (cryptogen or the org admin). These
certificates live for one day, use ECDSA P-256 like Fabric's, and carry both the server and
client TLS usages so one node certificate can serve and dial.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from fedlora.certificates import general_name, private_key_pem

_VALIDITY = datetime.timedelta(days=1)


@dataclass(frozen=True)
class ThrowawayCa:
    """A self-signed certificate authority and its signing key."""

    cert_pem: bytes
    key: ec.EllipticCurvePrivateKey

    @property
    def certificate(self) -> x509.Certificate:
        """The CA certificate, parsed."""
        return x509.load_pem_x509_certificate(self.cert_pem)


@dataclass(frozen=True)
class IssuedCertificate:
    """A leaf certificate and its private key, both PEM."""

    cert_pem: bytes
    key_pem: bytes


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _builder(
    subject: str, issuer: x509.Name, public_key: ec.EllipticCurvePublicKey
) -> x509.CertificateBuilder:
    now = datetime.datetime.now(datetime.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + _VALIDITY)
    )


def make_ca(common_name: str) -> ThrowawayCa:
    """Create a self-signed CA.

    Parameters
    ----------
    common_name
        Subject CN of the CA, e.g. ``"ca.org1.example"``.

    Returns
    -------
    ThrowawayCa
        The CA certificate (PEM) and its key.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        _builder(common_name, _name(common_name), key.public_key())
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return ThrowawayCa(cert.public_bytes(serialization.Encoding.PEM), key)


def issue_certificate(
    ca: ThrowawayCa, common_name: str, dns_names: tuple[str, ...] = ("localhost",)
) -> IssuedCertificate:
    """Issue a TLS certificate (server and client usage) signed by ``ca``.

    Parameters
    ----------
    ca
        The issuing CA.
    common_name
        Subject CN, e.g. the node id.
    dns_names
        Host names or IP addresses the certificate is valid for (an entry that parses as an IP
        address becomes an IP SAN); 127.0.0.1 and ::1 are always added.

    Returns
    -------
    IssuedCertificate
        Certificate and unencrypted PKCS#8 key, both PEM.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    alt_names = [general_name(name) for name in dict.fromkeys([*dns_names, "127.0.0.1", "::1"])]
    usages = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    cert = (
        _builder(common_name, ca.certificate.subject, key.public_key())
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.SubjectAlternativeName(alt_names), critical=False)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .sign(ca.key, hashes.SHA256())
    )
    return IssuedCertificate(cert.public_bytes(serialization.Encoding.PEM), private_key_pem(key))
