"""Issue a node identity from an organisation's CAs (the org admin's side of `fedlora node init`).

A node needs two certificates, both from its own organisation:
- an enrolment certificate (OU=client) from the org CA, used to sign Fabric transactions, and
- a TLS certificate from the org TLS CA, used for mutual TLS between nodes. It carries both the
  serverAuth and clientAuth usages because a node both serves and fetches adapters, and names
  only the hosts the operator gave (the host of the node's registered endpoint): a certificate
  that also named localhost would let its holder pass for a server on any member's machine.

The layout written is cryptogen's, so every Fabric tool and `fedlora.identity` can read it:
``msp/{signcerts,keystore,cacerts,tlscacerts}``, ``msp/config.yaml`` (NodeOUs) and
``tls/{client.crt,client.key,ca.crt}``.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from fedlora.certificates import certificate_fingerprint, general_name, private_key_pem
from fedlora.errors import FedloraError

_VALIDITY = dt.timedelta(days=3650)
_CLOCK_SKEW = dt.timedelta(minutes=5)
# A node whose endpoint is on loopback (the single-host demo dials 127.0.0.1) may be dialled
# under either local name; a node on any other host is named only as the operator named it.
_LOOPBACK_NAMES = ("localhost", "127.0.0.1")


@dataclass(frozen=True)
class OrgCA:
    """One of an org's certificate authorities: its certificate and signing key."""

    cert: x509.Certificate
    key: ec.EllipticCurvePrivateKey
    cert_pem: bytes


@dataclass(frozen=True)
class IssuedNode:
    """Where the new node's identity was written."""

    msp_dir: Path
    tls_dir: Path
    common_name: str
    tls_cert_sha256: str


def load_org_ca(ca_dir: Path) -> OrgCA:
    """Load a cryptogen CA folder (`ca/` or `tlsca/`): one *-cert.pem and its priv_sk key."""
    certs = sorted(ca_dir.glob("*-cert.pem"))
    keys = sorted(ca_dir.glob("*_sk"))
    if len(certs) != 1 or len(keys) != 1:
        raise FedloraError(
            f"{ca_dir} is not a CA folder (expected one *-cert.pem and one *_sk key)",
            "pass the organisation folder that cryptogen wrote (peerOrganizations/<domain>)",
        )
    cert_pem = certs[0].read_bytes()
    key = serialization.load_pem_private_key(keys[0].read_bytes(), password=None)
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise FedloraError(f"{keys[0]} is not an EC private key", "use a cryptogen CA")
    return OrgCA(x509.load_pem_x509_certificate(cert_pem), key, cert_pem)


def issue_node_identity(org_dir: Path, name: str, hosts: list[str], out_dir: Path) -> IssuedNode:
    """Write ``out_dir/msp`` and ``out_dir/tls`` for node ``name`` of the org in ``org_dir``.

    Everything is written to a temporary folder first and moved into place at the end, so a
    failure leaves nothing behind. An existing identity is never overwritten. ``hosts`` are the
    names and addresses peers dial the node at (the host of its endpoint).
    """
    if not hosts:
        raise FedloraError(
            f"no host named for node {name}'s TLS certificate",
            "pass the host of the endpoint the node registers (e.g. node1.org1.example)",
        )
    domain = org_dir.name
    common_name = f"{name}@{domain}"
    if (out_dir / "msp").exists() or (out_dir / "tls").exists():
        raise FedloraError(
            f"{out_dir} already holds a node identity", "choose another --out folder"
        )
    ca, tlsca = load_org_ca(org_dir / "ca"), load_org_ca(org_dir / "tlsca")
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=".issuing-") as scratch:
        staging = Path(scratch)
        _write_msp(staging / "msp", org_dir, ca, tlsca, common_name)
        fingerprint = _write_tls(staging / "tls", tlsca, common_name, hosts)
        for part in ("msp", "tls"):
            (staging / part).rename(out_dir / part)
    return IssuedNode(out_dir / "msp", out_dir / "tls", common_name, fingerprint)


def _write_msp(msp: Path, org_dir: Path, ca: OrgCA, tlsca: OrgCA, common_name: str) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _sign(ca, key, common_name, organizational_unit="client", tls_hosts=None)
    for sub in ("signcerts", "keystore", "cacerts", "tlscacerts"):
        (msp / sub).mkdir(parents=True)
    (msp / "signcerts" / f"{common_name}-cert.pem").write_bytes(_pem(cert))
    (msp / "keystore" / "priv_sk").write_bytes(private_key_pem(key))
    (msp / "keystore" / "priv_sk").chmod(0o600)
    (msp / "cacerts" / f"ca.{org_dir.name}-cert.pem").write_bytes(ca.cert_pem)
    (msp / "tlscacerts" / f"tlsca.{org_dir.name}-cert.pem").write_bytes(tlsca.cert_pem)
    org_config = org_dir / "msp" / "config.yaml"
    if org_config.is_file():  # NodeOUs: lets Fabric classify the certificate as a client
        shutil.copyfile(org_config, msp / "config.yaml")


def _write_tls(tls: Path, tlsca: OrgCA, common_name: str, hosts: list[str]) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _sign(tlsca, key, common_name, organizational_unit=None, tls_hosts=hosts)
    tls.mkdir(parents=True)
    (tls / "client.crt").write_bytes(_pem(cert))
    (tls / "client.key").write_bytes(private_key_pem(key))
    (tls / "client.key").chmod(0o600)
    (tls / "ca.crt").write_bytes(tlsca.cert_pem)
    return certificate_fingerprint(cert.public_bytes(serialization.Encoding.DER))


def _sign(
    ca: OrgCA,
    key: ec.EllipticCurvePrivateKey,
    common_name: str,
    organizational_unit: str | None,
    tls_hosts: list[str] | None,
) -> x509.Certificate:
    attributes = [x509.NameAttribute(NameOID.COMMON_NAME, common_name)]
    if organizational_unit:
        attributes.insert(
            0, x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, organizational_unit)
        )
    not_before, not_after = _validity_within(ca.cert)
    builder = (
        x509.CertificateBuilder()
        .subject_name(x509.Name(attributes))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before)
        .not_valid_after(not_after)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(), critical=True)
    )
    if tls_hosts is not None:
        usages = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
        builder = builder.add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        builder = builder.add_extension(_subject_alt_names(tls_hosts), critical=False)
    return builder.sign(ca.key, hashes.SHA256())


def _validity_within(issuer: x509.Certificate) -> tuple[dt.datetime, dt.datetime]:
    """A validity period that never starts before, or ends after, the issuer's.

    The start is back-dated a little for clock skew between hosts, but Fabric verifies an
    identity's chain at the leaf's NotBefore + 1 s (msp/mspimplvalidate.go), so a leaf that
    starts before its CA is refused as "creator org unknown". cryptogen starts its CAs at the
    current minute minus 5 minutes, so a CA made seconds ago can start later than now - 5 min.
    """
    now = dt.datetime.now(dt.UTC)
    not_before = max(now - _CLOCK_SKEW, issuer.not_valid_before_utc)
    not_after = min(now + _VALIDITY, issuer.not_valid_after_utc)
    return not_before, not_after


def _key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=True,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


def _subject_alt_names(hosts: list[str]) -> x509.SubjectAlternativeName:
    named = [host.strip("[]") for host in hosts]  # "[::1]" as an endpoint's host is "::1"
    if any(_is_loopback(host) for host in named):
        named += _LOOPBACK_NAMES
    return x509.SubjectAlternativeName([general_name(host) for host in dict.fromkeys(named)])


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)
