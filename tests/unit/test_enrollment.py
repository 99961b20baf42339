"""Issuing a node identity: certificates chain to the org CAs and carry what Fabric needs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from tests.support.pki import make_ca

from fedlora.enrollment import issue_node_identity
from fedlora.errors import FedloraError


@pytest.fixture
def org_dir(tmp_path: Path) -> Path:
    org = tmp_path / "org1.example.com"
    make_ca(org / "ca", "ca.org1.example.com")
    make_ca(org / "tlsca", "tlsca.org1.example.com")
    (org / "msp").mkdir()
    (org / "msp" / "config.yaml").write_text("NodeOUs:\n  Enable: true\n")
    return org


def load_cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_enrolment_certificate_chains_to_org_ca_and_is_a_client(
    org_dir: Path, tmp_path: Path
) -> None:
    issued = issue_node_identity(org_dir, "node1", ["10.0.0.5"], tmp_path / "node1")
    cert = load_cert(next((issued.msp_dir / "signcerts").glob("*.pem")))
    ca = load_cert(org_dir / "ca" / "ca.org1.example.com-cert.pem")
    cert.verify_directly_issued_by(ca)
    assert cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value == issued.common_name
    assert issued.common_name == "node1@org1.example.com"
    ou = cert.subject.get_attributes_for_oid(NameOID.ORGANIZATIONAL_UNIT_NAME)[0].value
    assert ou == "client"
    assert (issued.msp_dir / "config.yaml").read_text().startswith("NodeOUs")
    key = serialization.load_pem_private_key(
        (issued.msp_dir / "keystore" / "priv_sk").read_bytes(), password=None
    )
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    assert key.public_key().public_numbers() == cert.public_key().public_numbers()


def test_tls_certificate_serves_and_authenticates_for_the_given_hosts(
    org_dir: Path, tmp_path: Path
) -> None:
    issued = issue_node_identity(org_dir, "node1", ["10.0.0.5", "node1.org1"], tmp_path / "n")
    cert = load_cert(issued.tls_dir / "client.crt")
    cert.verify_directly_issued_by(load_cert(org_dir / "tlsca" / "tlsca.org1.example.com-cert.pem"))
    usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert {ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH} <= set(usages)
    assert _sans(cert) == {"node1.org1", "10.0.0.5"}
    assert issued.tls_cert_sha256 == cert.fingerprint(hashes.SHA256()).hex()


def _sans(cert: x509.Certificate) -> set[str]:
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    dns = set(names.get_values_for_type(x509.DNSName))
    return dns | {str(ip) for ip in names.get_values_for_type(x509.IPAddress)}


def test_a_certificate_for_a_remote_host_names_no_local_host(org_dir: Path, tmp_path: Path) -> None:
    # Every member trusts every member CA: a localhost name would let this node's holder pass
    # for a server on any other member's machine.
    for n, host in enumerate(["10.0.0.5", "node1.org1.example", "[2001:db8::5]"]):
        issued = issue_node_identity(org_dir, "node1", [host], tmp_path / str(n))
        sans = _sans(load_cert(issued.tls_dir / "client.crt"))
        assert sans == {host.strip("[]")}
        assert not sans & {"localhost", "127.0.0.1", "::1"}


def test_a_node_on_loopback_is_named_both_ways_for_the_single_host_demo(
    org_dir: Path, tmp_path: Path
) -> None:
    for n, host in enumerate(["127.0.0.1", "localhost", "[::1]"]):
        issued = issue_node_identity(org_dir, "node1", [host], tmp_path / str(n))
        sans = _sans(load_cert(issued.tls_dir / "client.crt"))
        assert sans == {host.strip("[]"), "localhost", "127.0.0.1"}


def test_a_certificate_naming_no_host_is_refused(org_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(FedloraError, match="no host named"):
        issue_node_identity(org_dir, "node1", [], tmp_path / "n")
    assert not (tmp_path / "n").exists()


def test_node_certificates_never_start_before_a_ca_made_seconds_ago(tmp_path: Path) -> None:
    # Fabric checks the chain at the leaf's NotBefore + 1 s: a leaf older than its CA is refused.
    org = tmp_path / "org1.example.com"
    seconds_ago = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(seconds=3)
    ca = make_ca(org / "ca", "ca.org1.example.com", not_before=seconds_ago)
    tlsca = make_ca(org / "tlsca", "tlsca.org1.example.com", not_before=seconds_ago)
    issued = issue_node_identity(org, "node1", ["10.0.0.5"], tmp_path / "n")
    signing = load_cert(next((issued.msp_dir / "signcerts").glob("*.pem")))
    tls = load_cert(issued.tls_dir / "client.crt")
    for leaf, issuer in ((signing, ca), (tls, tlsca)):
        assert leaf.not_valid_before_utc >= issuer.not_valid_before_utc
        assert leaf.not_valid_after_utc <= issuer.not_valid_after_utc


def test_existing_identity_is_never_overwritten(org_dir: Path, tmp_path: Path) -> None:
    issue_node_identity(org_dir, "node1", ["10.0.0.5"], tmp_path / "n")
    before = (tmp_path / "n" / "tls" / "client.crt").read_bytes()
    with pytest.raises(FedloraError, match="already holds a node identity"):
        issue_node_identity(org_dir, "node1", ["10.0.0.5"], tmp_path / "n")
    assert (tmp_path / "n" / "tls" / "client.crt").read_bytes() == before


def test_a_folder_without_cas_fails_cleanly_and_writes_nothing(tmp_path: Path) -> None:
    (tmp_path / "org9.example.com").mkdir()
    with pytest.raises(FedloraError, match="not a CA folder"):
        issue_node_identity(tmp_path / "org9.example.com", "node1", ["10.0.0.5"], tmp_path / "out")
    assert not (tmp_path / "out").exists()
