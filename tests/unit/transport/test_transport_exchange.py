"""Fetch over real loopback gRPC with mutual TLS: the happy path and every refusal."""

from __future__ import annotations

import hashlib
import os
import socket
from collections.abc import Callable
from typing import Any

import grpc
import pytest

import fedlora
from fedlora._generated.fedlora.v1 import adapter_exchange_pb2 as pb
from fedlora._generated.fedlora.v1 import adapter_exchange_pb2_grpc as pb_grpc
from fedlora.backoff import Backoff
from fedlora.transport import (
    ArtifactIntegrityError,
    ArtifactServer,
    ArtifactTooLargeError,
    ClientTimeouts,
    PeerLacksArtifactError,
    PeerRefusedError,
    PeerUnavailableError,
    TlsMaterial,
    TransportError,
)

MiB = 1024 * 1024
MakeClient = Callable[..., Any]


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_fetch_round_trips_a_multi_chunk_artifact(
    server: ArtifactServer, source: Any, client_tls: TlsMaterial, make_client: MakeClient
) -> None:
    data = os.urandom(5 * 64 * 1024 + 123)  # six chunks of the server's 64 KiB
    sha = source.add(data)
    client = make_client(server.port, client_tls)

    fetched = client.fetch(sha, max_bytes=MiB)

    assert fetched == data
    assert _sha(fetched) == sha
    served = server.traffic.snapshot()["node-b"]
    assert served.artifacts_sent == [sha]
    # payload plus a little framing per chunk, counted once
    assert len(data) < served.bytes_sent < len(data) + 6 * 64
    received = client.traffic.snapshot()[client.endpoint]
    assert received.artifacts_received == [sha]
    assert received.bytes_received == served.bytes_sent


def test_fetch_of_an_empty_artifact(
    server: ArtifactServer, source: Any, client_tls: TlsMaterial, make_client: MakeClient
) -> None:
    sha = source.add(b"")
    assert make_client(server.port, client_tls).fetch(sha, max_bytes=10) == b""


def test_health_reports_node_and_version(
    server: ArtifactServer, client_tls: TlsMaterial, make_client: MakeClient
) -> None:
    health = make_client(server.port, client_tls).health()
    assert (health.status, health.node_id, health.version) == (
        "SERVING",
        "node-a",
        fedlora.__version__,
    )


def test_client_from_a_foreign_ca_is_refused_by_tls(
    pki: Any, server: ArtifactServer, source: Any, authorizer: Any, make_client: MakeClient
) -> None:
    sha = source.add(b"adapter")
    intruder = pki.node(pki.foreign_ca, "intruder")

    with pytest.raises(PeerUnavailableError):
        make_client(server.port, intruder).fetch(sha, max_bytes=MiB)
    # the handshake failed before any RPC ran, so the authorizer never saw the certificate
    assert authorizer.seen == []


def test_server_from_a_foreign_ca_is_refused_by_the_client(
    pki: Any, client_tls: TlsMaterial, make_client: MakeClient
) -> None:
    impostor_tls = pki.node(pki.foreign_ca, "impostor")
    impostor = ArtifactServer(
        source=_Empty(), authorizer=_AllowAll(), tls=impostor_tls, node_id="impostor"
    )
    with impostor, pytest.raises(PeerUnavailableError):
        make_client(impostor.port, client_tls).health()


def test_unregistered_certificate_from_a_member_ca_gets_permission_denied(
    pki: Any, server: ArtifactServer, source: Any, authorizer: Any, make_client: MakeClient
) -> None:
    sha = source.add(b"adapter")
    stranger = pki.node(pki.member_cas[0], "node-unregistered")

    with pytest.raises(PeerRefusedError, match="not registered as an active node") as refused:
        make_client(server.port, stranger).fetch(sha, max_bytes=MiB)
    assert stranger.fingerprint in str(refused.value)
    assert len(authorizer.seen) == 1
    assert server.traffic.snapshot() == {}


def test_unknown_artifact_is_not_found(
    server: ArtifactServer, client_tls: TlsMaterial, make_client: MakeClient
) -> None:
    with pytest.raises(PeerLacksArtifactError):
        make_client(server.port, client_tls).fetch(_sha(b"never stored"), max_bytes=MiB)


def test_corrupt_stored_artifact_is_refused_by_the_receiver(
    server: ArtifactServer, source: Any, client_tls: TlsMaterial, make_client: MakeClient
) -> None:
    # The server sends what its store holds without hashing it again; the receiver's check
    # against the hash it asked for is what keeps a bit-rotted copy out.
    sha = _sha(b"original")
    source.artifacts[sha] = b"bit-rotted"
    client = make_client(server.port, client_tls)
    with pytest.raises(ArtifactIntegrityError, match="received bytes hash to"):
        client.fetch(sha, max_bytes=MiB)
    assert client.traffic.snapshot()[client.endpoint].artifacts_received == []


@pytest.mark.parametrize(
    "bad", ["", "ABC", "A" * 64, "g" * 64, "a" * 63, "a" * 65, "a" * 63 + "\n"]
)
def test_malformed_sha256_gets_invalid_argument(
    server: ArtifactServer, client_tls: TlsMaterial, bad: str
) -> None:
    channel = grpc.secure_channel(f"localhost:{server.port}", client_tls.channel_credentials())
    with channel:
        stub = pb_grpc.AdapterExchangeStub(channel)
        with pytest.raises(grpc.RpcError) as failed:
            list(stub.FetchArtifact(pb.FetchArtifactRequest(sha256=bad), timeout=5))
    assert failed.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "64 lowercase hex" in failed.value.details()


def test_client_rejects_a_malformed_sha256_before_dialling(
    client_tls: TlsMaterial, make_client: MakeClient, sleeps: list[float]
) -> None:
    with pytest.raises(TransportError, match="not a sha256"):
        make_client(1, client_tls, retry=Backoff(attempts=3)).fetch("x" * 64, max_bytes=1)
    assert sleeps == []


def test_artifact_over_the_limit_is_refused(
    server: ArtifactServer, source: Any, client_tls: TlsMaterial, make_client: MakeClient
) -> None:
    sha = source.add(os.urandom(1000))
    with pytest.raises(ArtifactTooLargeError, match="over the 999-byte limit"):
        make_client(server.port, client_tls).fetch(sha, max_bytes=999)


def test_unavailable_is_retried_with_backoff(
    client_tls: TlsMaterial, make_client: MakeClient, sleeps: list[float]
) -> None:
    unused_port = _closed_port()
    retry = Backoff(attempts=3, initial_delay_s=0.1, multiplier=3)
    with pytest.raises(PeerUnavailableError, match="after 3 attempt"):
        make_client(unused_port, client_tls, retry=retry).health()
    assert sleeps == pytest.approx([0.1, 0.3])


def test_refusals_are_not_retried(
    pki: Any, server: ArtifactServer, make_client: MakeClient, sleeps: list[float]
) -> None:
    stranger = pki.node(pki.member_cas[1], "node-unregistered")
    with pytest.raises(PeerRefusedError):
        make_client(server.port, stranger, retry=Backoff(attempts=4)).health()
    assert sleeps == []


def test_server_name_override_checks_the_name_in_the_certificate(
    pki: Any, source: Any, client_tls: TlsMaterial, make_client: MakeClient
) -> None:
    named_tls = pki.node(pki.member_cas[0], "node-a", dns_names=("peer0.org1.test",))
    named = ArtifactServer(source=source, authorizer=_AllowAll(), tls=named_tls, node_id="node-a")
    with named:
        with pytest.raises(PeerUnavailableError):
            make_client(named.port, client_tls).health()  # dials "localhost": name mismatch
        override = make_client(named.port, client_tls, expected_server_name="peer0.org1.test")
        assert override.health().node_id == "node-a"


def test_deadline_bounds_a_slow_stream(
    scripted_server: Any, client_tls: TlsMaterial, make_client: MakeClient
) -> None:
    data = b"x" * 10
    chunks = [pb.ArtifactChunk(data=data[i : i + 1], offset=i, total_size=10) for i in range(10)]
    chunks[0].sha256 = _sha(data)
    port, _ = scripted_server(chunks, delay_s=0.2)
    client = make_client(port, client_tls, timeouts=ClientTimeouts(fetch_s=0.5))
    with pytest.raises(PeerUnavailableError, match="deadline"):
        client.fetch(_sha(data), max_bytes=MiB)


class _Empty:
    def open(self, sha256: str) -> bytes | None:
        return None


class _AllowAll:
    def authorize(self, peer_cert_der: bytes) -> str | None:
        return "anyone"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _BrokenAuthorizer:
    def authorize(self, peer_cert_der: bytes) -> str | None:
        raise RuntimeError("ledger unreachable")


def test_failing_authorizer_answers_unavailable_and_the_client_retries(
    server_tls: TlsMaterial, client_tls: TlsMaterial, make_client: MakeClient, sleeps: list[float]
) -> None:
    broken = ArtifactServer(
        source=_Empty(), authorizer=_BrokenAuthorizer(), tls=server_tls, node_id="node-a"
    )
    retry = Backoff(attempts=2, initial_delay_s=0.01)
    with broken, pytest.raises(PeerUnavailableError, match="cannot check peer authorization"):
        make_client(broken.port, client_tls, retry=retry).health()
    assert sleeps == [0.01]
