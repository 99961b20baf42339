"""Certificate authorities laid out the way cryptogen writes them, for tests."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def make_ca(folder: Path, name: str, not_before: dt.datetime | None = None) -> x509.Certificate:
    """Write a self-signed CA the way cryptogen lays it out: <name>-cert.pem and priv_sk."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder.mkdir(parents=True)
    (folder / f"{name}-cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (folder / "priv_sk").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert


def make_org(root: Path, domain: str) -> Path:
    """A cryptogen-style member org folder: ca/, tlsca/ and msp/config.yaml (NodeOUs)."""
    org = root / domain
    make_ca(org / "ca", f"ca.{domain}")
    make_ca(org / "tlsca", f"tlsca.{domain}")
    (org / "msp").mkdir()
    (org / "msp" / "config.yaml").write_text("NodeOUs:\n  Enable: true\n")
    return org
