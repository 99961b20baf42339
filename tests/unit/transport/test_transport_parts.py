"""The transport's parts in isolation: TLS material, authorization, chunking, retries, counts."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from fedlora.backoff import Backoff
from fedlora.errors import FedloraError
from fedlora.transport import (
    ArtifactServer,
    StaticAuthorizer,
    TlsMaterial,
    TlsMaterialError,
    TrafficCounter,
    TransportError,
    certificate_fingerprint,
    peer_certificate_der,
)
from fedlora.transport.chunking import Chunk, ChunkAssembler, split_into_chunks
from fedlora.transport.errors import ArtifactIntegrityError
from fedlora.transport.throwaway_pki import issue_certificate


def _write(tmp_path: Path, name: str, data: bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def test_tls_material_loads_from_files(tmp_path: Path, pki: Any) -> None:
    issued = issue_certificate(pki.member_cas[0], "node-a")
    material = TlsMaterial.from_files(
        _write(tmp_path, "cert.pem", issued.cert_pem),
        _write(tmp_path, "key.pem", issued.key_pem),
        [_write(tmp_path, f"ca{i}.pem", ca.cert_pem) for i, ca in enumerate(pki.member_cas)],
    )
    assert material.cert_pem == issued.cert_pem
    assert material.trusted_ca_pems == tuple(ca.cert_pem for ca in pki.member_cas)


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "cert.pem"
    with pytest.raises(TlsMaterialError, match=r"cannot read certificate .*nowhere/cert\.pem"):
        TlsMaterial.from_files(missing, missing, [missing])


def test_key_of_another_certificate_is_refused(pki: Any) -> None:
    one = issue_certificate(pki.member_cas[0], "one")
    other = issue_certificate(pki.member_cas[0], "other")
    with pytest.raises(TlsMaterialError, match="does not belong to the certificate"):
        TlsMaterial(one.cert_pem, other.key_pem, (pki.member_cas[0].cert_pem,))


@pytest.mark.parametrize("broken", ["cert", "key", "ca", "no-ca"])
def test_unusable_material_is_one_line_error(pki: Any, broken: str) -> None:
    issued = issue_certificate(pki.member_cas[0], "node")
    cert, key, cas = issued.cert_pem, issued.key_pem, (pki.member_cas[0].cert_pem,)
    if broken == "cert":
        cert = b"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n"
    elif broken == "key":
        key = b"garbage"
    elif broken == "ca":
        cas = (b"garbage",)
    else:
        cas = ()
    with pytest.raises(TlsMaterialError) as error:
        TlsMaterial(cert, key, cas)
    assert isinstance(error.value, FedloraError)
    assert "\n" not in str(error.value) and " -- " in str(error.value)


def test_fingerprint_is_sha256_of_the_der_certificate(client_tls: TlsMaterial) -> None:
    cert = x509.load_pem_x509_certificate(client_tls.cert_pem)
    assert client_tls.fingerprint == cert.fingerprint(hashes.SHA256()).hex()


def test_static_authorizer_maps_fingerprints_to_node_ids(
    client_tls: TlsMaterial, server_tls: TlsMaterial
) -> None:
    client_der = peer_certificate_der({"x509_pem_cert": [client_tls.cert_pem]})
    server_der = peer_certificate_der({"x509_pem_cert": [server_tls.cert_pem]})
    assert client_der is not None and server_der is not None
    authorizer = StaticAuthorizer({client_tls.fingerprint.upper(): "node-b"})
    assert authorizer.authorize(client_der) == "node-b"
    assert authorizer.authorize(server_der) is None
    assert certificate_fingerprint(client_der) == client_tls.fingerprint


@pytest.mark.parametrize("context", [{}, {"x509_pem_cert": []}, {"x509_pem_cert": [b"junk"]}])
def test_no_usable_peer_certificate_gives_none(context: dict[str, list[bytes]]) -> None:
    assert peer_certificate_der(context) is None


@pytest.mark.parametrize(
    ("size", "chunk_size", "expected_sizes"),
    [
        (0, 4, [0]),
        (4, 4, [4]),
        (5, 4, [4, 1]),
        (9, 3, [3, 3, 3]),
    ],
)
def test_split_into_chunks(size: int, chunk_size: int, expected_sizes: list[int]) -> None:
    data = bytes(range(size))
    chunks = list(split_into_chunks(data, "h", chunk_size))
    assert [len(c.data) for c in chunks] == expected_sizes
    assert [c.offset for c in chunks] == [sum(expected_sizes[:i]) for i in range(len(chunks))]
    assert [c.sha256 for c in chunks] == ["h"] + [""] * (len(chunks) - 1)
    assert all(c.total_size == size for c in chunks)
    assert b"".join(c.data for c in chunks) == data


@pytest.mark.parametrize("chunk_size", [0, 5 * 1024 * 1024])
def test_chunk_size_out_of_range_is_refused(chunk_size: int) -> None:
    with pytest.raises(ValueError):
        list(split_into_chunks(b"x", "h", chunk_size))


def test_assembler_refuses_a_changed_total_and_a_second_hash() -> None:
    sha = hashlib.sha256(b"abcd").hexdigest()
    changed = ChunkAssembler(sha, 100)
    changed.add(Chunk(b"ab", 0, 4, sha))
    with pytest.raises(ArtifactIntegrityError, match="total size changed"):
        changed.add(Chunk(b"cd", 2, 5))
    repeated = ChunkAssembler(sha, 100)
    repeated.add(Chunk(b"ab", 0, 4, sha))
    with pytest.raises(ArtifactIntegrityError, match="sha256 repeated"):
        repeated.add(Chunk(b"cd", 2, 4, sha))


def test_retry_backoff_grows_and_is_capped() -> None:
    policy = Backoff(attempts=5, initial_delay_s=1.0, max_delay_s=4.0, multiplier=3.0)
    assert list(policy.delays()) == [1.0, 3.0, 4.0, 4.0]
    assert list(Backoff(attempts=1).delays()) == []


@pytest.mark.parametrize("bad", [{"attempts": 0}, {"initial_delay_s": -1}, {"multiplier": 0.5}])
def test_invalid_retry_policy_is_refused(bad: dict[str, Any]) -> None:
    with pytest.raises(FedloraError, match="invalid retry policy"):
        Backoff(**bad)


def test_traffic_counter_take_starts_a_new_period() -> None:
    counter = TrafficCounter()
    counter.add_sent("node-b", 10)
    counter.add_received("node-b", 5)
    counter.add_sent("node-c", 1)
    counter.artifact_sent("node-b", "h1")
    assert counter.total_bytes() == 16
    taken = counter.take()
    assert (taken["node-b"].bytes_sent, taken["node-b"].bytes_received) == (10, 5)
    assert taken["node-b"].artifacts_sent == ["h1"]
    assert counter.snapshot() == {} and counter.total_bytes() == 0


def test_server_refuses_a_bad_chunk_size_and_a_taken_port(server_tls: TlsMaterial) -> None:
    options: dict[str, Any] = {
        "source": None,
        "authorizer": StaticAuthorizer({}),
        "tls": server_tls,
        "node_id": "n",
    }
    with pytest.raises(TransportError, match="chunk size 0"):
        ArtifactServer(chunk_size=0, **options)
    with ArtifactServer(**options) as first:
        taken = f"127.0.0.1:{first.port}"
        with pytest.raises(TransportError, match=f"cannot listen on {re.escape(taken)}"):
            ArtifactServer(address=taken, **options).start()
