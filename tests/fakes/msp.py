"""Write throw-away MSP material in cryptogen's layout, for tests that need real certificates.

One :class:`TestOrg` is one organisation: a signing CA and a TLS CA, the org-level ``msp/``
folder, and identities under ``users/<name>@<domain>/`` or ``peers/<name>.<domain>/``, each with
``msp/{signcerts,keystore,cacerts,tlscacerts,config.yaml}`` and ``tls/{ca.crt,<role>.crt/.key}``.
Keys are P-256, certificates carry the NodeOU (``client``, ``admin``, ``peer``) as an OU.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

_NODE_OUS = ("client", "peer", "admin", "orderer")


@dataclass(frozen=True)
class _Authority:
    key: ec.EllipticCurvePrivateKey
    cert: x509.Certificate

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)


def _pem_key(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _name(common_name: str, org: str, unit: str | None = None) -> x509.Name:
    attributes = [x509.NameAttribute(NameOID.ORGANIZATION_NAME, org)]
    if unit:
        attributes.append(x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit))
    attributes.append(x509.NameAttribute(NameOID.COMMON_NAME, common_name))
    return x509.Name(attributes)


def _builder(
    subject: x509.Name, issuer: x509.Name, key: ec.EllipticCurvePrivateKey
) -> x509.CertificateBuilder:
    now = dt.datetime.now(dt.UTC)
    return (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=365))
    )


def _new_authority(common_name: str, org: str) -> _Authority:
    key = ec.generate_private_key(ec.SECP256R1())
    name = _name(common_name, org)
    cert = (
        _builder(name, name, key)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(True, False, False, False, False, True, True, False, False),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return _Authority(key, cert)


def _issue(
    ca: _Authority,
    common_name: str,
    org: str,
    unit: str | None,
    sans: tuple[str, ...] = (),
) -> tuple[bytes, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    builder = _builder(_name(common_name, org, unit), ca.cert.subject, key).add_extension(
        x509.BasicConstraints(ca=False, path_length=None), critical=True
    )
    if sans:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([_general_name(san) for san in sans]), critical=False
        ).add_extension(
            x509.ExtendedKeyUsage(
                [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
            ),
            critical=False,
        )
    cert = builder.sign(ca.key, hashes.SHA256())
    return cert.public_bytes(serialization.Encoding.PEM), _pem_key(key)


def _general_name(san: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(san))
    except ValueError:
        return x509.DNSName(san)


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@dataclass
class TestOrg:
    """An organisation's CAs written under ``root``; identities are added with :meth:`add`."""

    __test__ = False  # not a pytest test class

    root: Path
    msp_id: str
    domain: str
    ca: _Authority
    tlsca: _Authority

    @classmethod
    def create(
        cls, root: Path, msp_id: str = "Org1MSP", domain: str = "org1.example.com"
    ) -> TestOrg:
        """Create both CAs and the org-level ``msp/`` folder under ``root``."""
        org = cls(
            root=root,
            msp_id=msp_id,
            domain=domain,
            ca=_new_authority(f"ca.{domain}", domain),
            tlsca=_new_authority(f"tlsca.{domain}", domain),
        )
        org._write_ca_folders(root / "msp")
        return org

    @property
    def ca_cert_pem(self) -> bytes:
        """The signing CA certificate (PEM)."""
        return self.ca.cert_pem

    @property
    def tls_ca_cert_pem(self) -> bytes:
        """The TLS CA certificate (PEM)."""
        return self.tlsca.cert_pem

    def add(
        self, name: str, role: str = "client", sans: tuple[str, ...] = ("127.0.0.1", "localhost")
    ) -> Path:
        """Write one identity and return its ``msp`` folder.

        ``role`` is the NodeOU: users are ``client`` or ``admin`` and live under ``users/``;
        ``peer`` and ``orderer`` identities live under ``peers/`` or ``orderers/`` and get a
        TLS server certificate.
        """
        if role not in _NODE_OUS:
            raise ValueError(f"role must be one of {_NODE_OUS}")
        is_server = role in ("peer", "orderer")
        common_name = f"{name}.{self.domain}" if is_server else f"{name}@{self.domain}"
        base = self.root / (f"{role}s" if is_server else "users") / common_name
        msp = base / "msp"
        self._write_ca_folders(msp)
        cert_pem, key_pem = _issue(self.ca, common_name, self.domain, role)
        _write(msp / "signcerts" / f"{common_name}-cert.pem", cert_pem)
        _write(msp / "keystore" / "priv_sk", key_pem)
        tls_cert, tls_key = _issue(self.tlsca, common_name, self.domain, None, sans)
        stem = "server" if is_server else "client"
        _write(base / "tls" / "ca.crt", self.tls_ca_cert_pem)
        _write(base / "tls" / f"{stem}.crt", tls_cert)
        _write(base / "tls" / f"{stem}.key", tls_key)
        return msp

    def _write_ca_folders(self, msp: Path) -> None:
        ca_file = f"ca.{self.domain}-cert.pem"
        _write(msp / "cacerts" / ca_file, self.ca_cert_pem)
        _write(msp / "tlscacerts" / f"tlsca.{self.domain}-cert.pem", self.tls_ca_cert_pem)
        _write(msp / "config.yaml", _node_ou_config(ca_file).encode())


def _node_ou_config(ca_file: str) -> str:
    lines = ["NodeOUs:", "  Enable: true"]
    for unit in _NODE_OUS:
        lines += [
            f"  {unit.capitalize()}OUIdentifier:",
            f"    Certificate: cacerts/{ca_file}",
            f"    OrganizationalUnitIdentifier: {unit}",
        ]
    return "\n".join(lines) + "\n"
