"""MSP directory loading and the low-S ECDSA signer."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    decode_dss_signature,
    encode_dss_signature,
)
from fabric_protos.msp import identities_pb2
from tests.fakes.msp import TestOrg

from fedlora.identity import EcdsaSigner, MspError, load_msp_dir, normalize_low_s

P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> TestOrg:
    org = TestOrg.create(tmp_path_factory.mktemp("org"), "Org2MSP", "org2.example.com")
    org.add("User1", "client")
    org.add("Admin", "admin")
    return org


def user_msp(org: TestOrg, name: str = "User1") -> Path:
    return org.root / "users" / f"{name}@{org.domain}" / "msp"


def copy_msp(org: TestOrg, tmp_path: Path) -> Path:
    target = tmp_path / "User1" / "msp"
    shutil.copytree(user_msp(org).parent, target.parent)
    return target


def test_loads_identity_cas_and_tls_material(org: TestOrg) -> None:
    material = load_msp_dir(user_msp(org), "Org2MSP")

    assert material.identity.msp_id == "Org2MSP"
    assert material.identity.common_name == "User1@org2.example.com"
    assert material.identity.node_id == "Org2MSP/User1@org2.example.com"
    assert material.ca_certs_pem == (org.ca_cert_pem,)
    assert material.tls_ca_certs_pem == (org.tls_ca_cert_pem,)
    assert material.tls is not None and material.tls.ca_pem == org.tls_ca_cert_pem
    assert material.tls.cert_pem is not None and material.tls.key_pem is not None
    tls_cert = x509.load_pem_x509_certificate(material.tls.cert_pem)
    assert material.tls.cert_sha256 == tls_cert.fingerprint(hashes.SHA256()).hex()


def test_creator_is_a_serialized_identity_with_the_pem_certificate(org: TestOrg) -> None:
    material = load_msp_dir(user_msp(org), "Org2MSP")

    parsed = identities_pb2.SerializedIdentity.FromString(material.identity.creator)

    assert parsed.mspid == "Org2MSP"
    assert (
        parsed.id_bytes
        == (user_msp(org) / "signcerts" / "User1@org2.example.com-cert.pem").read_bytes()
    )


def test_signatures_verify_and_are_always_low_s(org: TestOrg) -> None:
    material = load_msp_dir(user_msp(org), "Org2MSP")
    signer = material.signer()
    public_key = material.identity.certificate.public_key()
    assert isinstance(public_key, ec.EllipticCurvePublicKey)

    for index in range(400):
        message = f"proposal bytes {index}".encode() * (index % 7 + 1)
        signature = signer.sign(message)
        public_key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
        _, s = decode_dss_signature(signature)
        assert s <= P256_ORDER // 2


def test_normalize_low_s_flips_a_high_s_signature_and_it_still_verifies() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    message = b"envelope payload"
    r, s = decode_dss_signature(key.sign(message, ec.ECDSA(hashes.SHA256())))
    high_s = max(s, P256_ORDER - s)
    high = encode_dss_signature(r, high_s)

    low = normalize_low_s(high)

    assert decode_dss_signature(low) == (r, P256_ORDER - high_s)
    key.public_key().verify(low, message, ec.ECDSA(hashes.SHA256()))


def test_p384_keys_sign_the_sha256_digest_with_low_s() -> None:
    key = ec.generate_private_key(ec.SECP384R1())
    order = int(
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF"
        "581A0DB248B0A77AECEC196ACCC52973",
        16,
    )
    for index in range(50):
        signature = EcdsaSigner(key).sign(b"m%d" % index)
        key.public_key().verify(signature, b"m%d" % index, ec.ECDSA(hashes.SHA256()))
        assert decode_dss_signature(signature)[1] <= order // 2


def test_other_curves_are_refused() -> None:
    with pytest.raises(MspError, match="unsupported ECDSA curve"):
        EcdsaSigner(ec.generate_private_key(ec.SECP521R1()))


def test_missing_directory_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(MspError, match="does not exist -- "):
        load_msp_dir(tmp_path / "nope", "Org1MSP")


def test_empty_msp_id_is_rejected(org: TestOrg) -> None:
    with pytest.raises(MspError, match="MSP id is empty"):
        load_msp_dir(user_msp(org), " ")


def test_missing_keystore_is_a_clear_error(org: TestOrg, tmp_path: Path) -> None:
    msp = copy_msp(org, tmp_path)
    shutil.rmtree(msp / "keystore")
    with pytest.raises(MspError, match="keystore is missing or empty"):
        load_msp_dir(msp, "Org2MSP")


def test_key_of_another_identity_is_rejected(org: TestOrg, tmp_path: Path) -> None:
    msp = copy_msp(org, tmp_path)
    admin_key = (user_msp(org, "Admin") / "keystore" / "priv_sk").read_bytes()
    (msp / "keystore" / "priv_sk").write_bytes(admin_key)
    with pytest.raises(MspError, match=r"no key in .* matches the certificate"):
        load_msp_dir(msp, "Org2MSP")


def test_the_matching_key_is_found_among_several(org: TestOrg, tmp_path: Path) -> None:
    msp = copy_msp(org, tmp_path)
    own_key = (msp / "keystore" / "priv_sk").read_bytes()
    (msp / "keystore" / "priv_sk").unlink()
    (msp / "keystore" / "aaa_sk").write_bytes(
        (user_msp(org, "Admin") / "keystore" / "priv_sk").read_bytes()
    )
    (msp / "keystore" / "bbb_sk").write_bytes(own_key)
    assert load_msp_dir(msp, "Org2MSP").private_key_pem == own_key


def test_malformed_certificate_is_rejected(org: TestOrg, tmp_path: Path) -> None:
    msp = copy_msp(org, tmp_path)
    next((msp / "signcerts").iterdir()).write_bytes(b"not a certificate")
    with pytest.raises(MspError, match=r"does not hold a PEM X\.509 certificate"):
        load_msp_dir(msp, "Org2MSP")


def test_two_signcerts_are_ambiguous(org: TestOrg, tmp_path: Path) -> None:
    msp = copy_msp(org, tmp_path)
    (msp / "signcerts" / "other.pem").write_bytes(org.ca_cert_pem)
    with pytest.raises(MspError, match="holds 2 certificates"):
        load_msp_dir(msp, "Org2MSP")


def test_missing_cacerts_is_a_clear_error(org: TestOrg, tmp_path: Path) -> None:
    msp = copy_msp(org, tmp_path)
    shutil.rmtree(msp / "cacerts")
    with pytest.raises(MspError, match="cacerts is missing"):
        load_msp_dir(msp, "Org2MSP")


def test_tls_folder_is_optional(org: TestOrg, tmp_path: Path) -> None:
    msp = copy_msp(org, tmp_path)
    shutil.rmtree(msp.parent / "tls")
    assert load_msp_dir(msp, "Org2MSP").tls is None
