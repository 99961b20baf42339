"""Load a node's MSP directory: who it is on the channel, how it signs, and its TLS material.

The layout is the one cryptogen and Fabric CA write::

    <msp>/signcerts/*.pem      the X.509 certificate of this identity
    <msp>/keystore/*           its private key (PKCS#8 PEM; cryptogen names it priv_sk)
    <msp>/cacerts/*.pem        the org's signing CA
    <msp>/tlscacerts/*.pem     the org's TLS CA
    <msp>/../tls/              optional: ca.crt plus client.crt/client.key (or server.crt/.key)

Fabric rejects any ECDSA signature whose S is in the upper half of the curve order, and the
`cryptography` library does not normalise S, so :class:`EcdsaSigner` does it here.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import (
    Prehashed,
    decode_dss_signature,
    encode_dss_signature,
)
from cryptography.x509.oid import NameOID
from fabric_protos.msp import identities_pb2 as _identities_pb2

from fedlora.certificates import certificate_fingerprint
from fedlora.errors import FedloraError

# The generated protobuf modules carry no type information.
identities_pb2: Any = _identities_pb2

# Group orders of the curves Fabric accepts for ECDSA identities.
_CURVE_ORDERS = {
    "secp256r1": 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551,
    "secp384r1": int(
        "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFC7634D81F4372DDF"
        "581A0DB248B0A77AECEC196ACCC52973",
        16,
    ),
}


class MspError(FedloraError):
    """An MSP directory is missing, incomplete or holds material that cannot be used."""


class Signer(Protocol):
    """Something that signs message bytes the way a Fabric MSP verifies them."""

    def sign(self, message: bytes) -> bytes:
        """Return a DER-encoded, low-S signature over ``message``."""
        ...


@dataclass(frozen=True)
class Identity:
    """A channel identity: MSP id plus the PEM certificate Fabric sees as the creator."""

    msp_id: str
    cert_pem: bytes

    @property
    def creator(self) -> bytes:
        """Serialized ``msp.SerializedIdentity``: the creator bytes of every signed request."""
        serialized = identities_pb2.SerializedIdentity(mspid=self.msp_id, id_bytes=self.cert_pem)
        return bytes(serialized.SerializeToString())

    @property
    def certificate(self) -> x509.Certificate:
        """The parsed X.509 certificate."""
        return x509.load_pem_x509_certificate(self.cert_pem)

    @property
    def common_name(self) -> str:
        """The certificate subject's CN (the chaincode's node id is ``<mspId>/<CN>``)."""
        return _common_name(self.certificate)

    @property
    def node_id(self) -> str:
        """``<mspId>/<CN>``: how the chaincode names this identity."""
        return f"{self.msp_id}/{self.common_name}"


class EcdsaSigner:
    """ECDSA signer over the SHA-256 digest of the message, with Fabric's low-S normalisation.

    The MSP's default signature hash family (SHA2) verifies a SHA-256 digest whatever the
    curve, which is also what the official Gateway clients sign.

    Parameters
    ----------
    private_key
        A P-256 (or P-384) private key.
    """

    def __init__(self, private_key: ec.EllipticCurvePrivateKey) -> None:
        curve = private_key.curve.name
        if curve not in _CURVE_ORDERS:
            raise MspError(
                f"unsupported ECDSA curve {curve}", "Fabric identities use P-256 or P-384 keys"
            )
        self._key = private_key
        self._order = _CURVE_ORDERS[curve]

    def sign(self, message: bytes) -> bytes:
        """Sign ``message``: hash it, sign the digest, force S into the lower half, DER-encode."""
        digest = hashlib.sha256(message).digest()
        der = self._key.sign(digest, ec.ECDSA(Prehashed(hashes.SHA256())))
        return normalize_low_s(der, self._order)


def normalize_low_s(signature_der: bytes, order: int = _CURVE_ORDERS["secp256r1"]) -> bytes:
    """Return the same ECDSA signature with ``s`` replaced by ``n - s`` when ``s > n/2``."""
    r, s = decode_dss_signature(signature_der)
    if s > order // 2:
        s = order - s
    return encode_dss_signature(r, s)


@dataclass(frozen=True)
class TlsFiles:
    """The PEM files of the ``tls/`` folder beside an MSP directory: the TLS CA and, for mutual
    TLS, a certificate and its key (the transport's validated form is ``TlsMaterial``)."""

    ca_pem: bytes
    cert_pem: bytes | None = None
    key_pem: bytes | None = None

    @property
    def cert_sha256(self) -> str | None:
        """Lowercase hex SHA-256 of the TLS certificate's DER (what RegisterNode records)."""
        if self.cert_pem is None:
            return None
        der = x509.load_pem_x509_certificate(self.cert_pem).public_bytes(serialization.Encoding.DER)
        return certificate_fingerprint(der)


@dataclass(frozen=True)
class MspMaterial:
    """Everything a node loads from its MSP directory."""

    identity: Identity
    private_key_pem: bytes
    ca_certs_pem: tuple[bytes, ...]
    tls_ca_certs_pem: tuple[bytes, ...]
    tls: TlsFiles | None

    def signer(self) -> EcdsaSigner:
        """An :class:`EcdsaSigner` over this identity's private key."""
        return EcdsaSigner(_load_ec_key(self.private_key_pem, "the keystore key"))


def load_msp_dir(msp_dir: Path | str, msp_id: str) -> MspMaterial:
    """Read an MSP directory (cryptogen or Fabric CA layout).

    Parameters
    ----------
    msp_dir
        The ``msp`` folder of one identity (the one holding ``signcerts`` and ``keystore``).
    msp_id
        The MSP id of the organisation on the channel, e.g. ``Org1MSP``.

    Returns
    -------
    MspMaterial
        Identity, private key, CA bundles and, if ``<msp_dir>/../tls`` exists, TLS material.

    Raises
    ------
    MspError
        When a folder or file is missing, unreadable, or the key does not match the certificate.
    """
    root = Path(msp_dir)
    if not root.is_dir():
        raise MspError(
            f"MSP directory {root} does not exist",
            "pass the identity's msp folder (it holds signcerts/ and keystore/)",
        )
    if not msp_id.strip():
        raise MspError("the MSP id is empty", "pass the organisation's MSP id, e.g. Org1MSP")
    cert_pem = _single_pem(root / "signcerts", "signcerts")
    certificate = _load_cert(cert_pem, root / "signcerts")
    key_pem = _matching_key(root / "keystore", certificate)
    return MspMaterial(
        identity=Identity(msp_id=msp_id, cert_pem=cert_pem),
        private_key_pem=key_pem,
        ca_certs_pem=_pem_files(root / "cacerts", required=True),
        tls_ca_certs_pem=_pem_files(root / "tlscacerts", required=False),
        tls=_load_tls_dir(root.parent / "tls"),
    )


def _single_pem(folder: Path, label: str) -> bytes:
    files = _pem_files(folder, required=True)
    if len(files) != 1:
        raise MspError(
            f"{folder} holds {len(files)} certificates, expected exactly one",
            f"keep only this identity's certificate in {label}/",
        )
    return files[0]


def _pem_files(folder: Path, *, required: bool) -> tuple[bytes, ...]:
    if not folder.is_dir():
        if required:
            raise MspError(f"{folder} is missing", "the MSP directory looks incomplete")
        return ()
    paths = sorted(path for path in folder.iterdir() if path.is_file())
    if required and not paths:
        raise MspError(f"{folder} is empty", "the MSP directory looks incomplete")
    contents = tuple(path.read_bytes() for path in paths)
    for path, data in zip(paths, contents, strict=True):
        _load_cert(data, path)
    return contents


def _load_cert(pem: bytes, where: Path) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(pem)
    except ValueError:
        raise MspError(
            f"{where} does not hold a PEM X.509 certificate", "regenerate the MSP material"
        ) from None


def _load_ec_key(pem: bytes, where: str) -> ec.EllipticCurvePrivateKey:
    try:
        key = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise MspError(
            f"{where} is not an unencrypted PEM private key", "regenerate the MSP material"
        ) from None
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise MspError(f"{where} is not an ECDSA key", "Fabric identities use ECDSA keys")
    return key


def _matching_key(keystore: Path, certificate: x509.Certificate) -> bytes:
    """Pick the keystore file whose public key is the certificate's (Fabric CA may leave many)."""
    if not keystore.is_dir() or not any(p.is_file() for p in keystore.iterdir()):
        raise MspError(f"{keystore} is missing or empty", "the identity's private key is needed")
    wanted = _public_der(certificate.public_key())
    for path in sorted(p for p in keystore.iterdir() if p.is_file()):
        key = _load_ec_key(path.read_bytes(), str(path))
        if _public_der(key.public_key()) == wanted:
            return path.read_bytes()
    raise MspError(
        f"no key in {keystore} matches the certificate in signcerts/",
        "the keystore and signcerts belong to different identities",
    )


def _public_der(public_key: object) -> bytes:
    if not isinstance(public_key, ec.EllipticCurvePublicKey):
        raise MspError("the certificate does not hold an ECDSA key", "use an ECDSA identity")
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _load_tls_dir(tls_dir: Path) -> TlsFiles | None:
    ca = tls_dir / "ca.crt"
    if not ca.is_file():
        return None
    _load_cert(ca.read_bytes(), ca)
    # Users get client.crt/key from cryptogen, peers and orderers server.crt/key.
    for stem in ("client", "server"):
        cert, key = tls_dir / f"{stem}.crt", tls_dir / f"{stem}.key"
        if cert.is_file() and key.is_file():
            _load_cert(cert.read_bytes(), cert)
            _load_ec_key(key.read_bytes(), str(key))
            return TlsFiles(ca.read_bytes(), cert.read_bytes(), key.read_bytes())
    return TlsFiles(ca_pem=ca.read_bytes())


def _common_name(certificate: x509.Certificate) -> str:
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    if not names:
        raise MspError("the certificate subject has no CN", "node ids are <mspId>/<CN>")
    return str(names[0].value)
