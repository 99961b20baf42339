"""Throwaway PKI and loopback mTLS servers for the transport tests.

Two member CAs are trusted by every node; a third, foreign CA is trusted by nobody.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent import futures
from dataclasses import dataclass, field
from typing import Any

import grpc
import pytest

from fedlora._generated.fedlora.v1 import adapter_exchange_pb2 as pb
from fedlora._generated.fedlora.v1 import adapter_exchange_pb2_grpc as pb_grpc
from fedlora.backoff import Backoff
from fedlora.transport import (
    ArtifactServer,
    Authorizer,
    PeerClient,
    StaticAuthorizer,
    TlsMaterial,
)
from fedlora.transport.throwaway_pki import ThrowawayCa, issue_certificate, make_ca

SMALL_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Pki:
    """CAs and node TLS material for one test session."""

    member_cas: tuple[ThrowawayCa, ThrowawayCa]
    foreign_ca: ThrowawayCa

    def node(
        self, ca: ThrowawayCa, name: str, dns_names: tuple[str, ...] = ("localhost",)
    ) -> TlsMaterial:
        """TLS material for a node whose certificate ``ca`` issued, trusting both member CAs."""
        issued = issue_certificate(ca, name, dns_names)
        trusted = tuple(member.cert_pem for member in self.member_cas)
        return TlsMaterial(issued.cert_pem, issued.key_pem, trusted)


@pytest.fixture(scope="session")
def pki() -> Pki:
    return Pki((make_ca("ca.org1.test"), make_ca("ca.org2.test")), make_ca("ca.foreign.test"))


@pytest.fixture(scope="session")
def server_tls(pki: Pki) -> TlsMaterial:
    return pki.node(pki.member_cas[0], "node-a")


@pytest.fixture(scope="session")
def client_tls(pki: Pki) -> TlsMaterial:
    return pki.node(pki.member_cas[1], "node-b")


class DictSource:
    """ArtifactSource over a dict, keyed by the hash the test chose."""

    def __init__(self, artifacts: dict[str, bytes] | None = None) -> None:
        self.artifacts = dict(artifacts or {})

    def add(self, data: bytes) -> str:
        sha256 = hashlib.sha256(data).hexdigest()
        self.artifacts[sha256] = data
        return sha256

    def open(self, sha256: str) -> bytes | None:
        return self.artifacts.get(sha256)


@dataclass
class RecordingAuthorizer:
    """Wraps an authorizer and remembers every certificate it was asked about."""

    inner: Authorizer
    seen: list[bytes] = field(default_factory=list)

    def authorize(self, peer_cert_der: bytes) -> str | None:
        self.seen.append(peer_cert_der)
        return self.inner.authorize(peer_cert_der)


@pytest.fixture
def source() -> DictSource:
    return DictSource()


@pytest.fixture
def authorizer(client_tls: TlsMaterial) -> RecordingAuthorizer:
    return RecordingAuthorizer(StaticAuthorizer({client_tls.fingerprint: "node-b"}))


@pytest.fixture
def server(
    source: DictSource, authorizer: RecordingAuthorizer, server_tls: TlsMaterial
) -> Iterator[ArtifactServer]:
    with ArtifactServer(
        source=source,
        authorizer=authorizer,
        tls=server_tls,
        node_id="node-a",
        chunk_size=SMALL_CHUNK,
    ) as running:
        yield running


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def make_client(sleeps: list[float]) -> Iterator[Callable[..., PeerClient]]:
    """Build clients that record their retry sleeps instead of sleeping; closed at teardown."""
    clients: list[PeerClient] = []

    def build(port: int, tls: TlsMaterial, **options: Any) -> PeerClient:
        options.setdefault("retry", Backoff(attempts=1))
        host = options.pop("host", "localhost")
        client = PeerClient(f"{host}:{port}", tls, sleep=sleeps.append, **options)
        clients.append(client)
        return client

    yield build
    for client in clients:
        client.close()


class ScriptedServicer(pb_grpc.AdapterExchangeServicer):  # type: ignore[misc]
    """A misbehaving peer: answers every fetch with a fixed list of chunks."""

    def __init__(self, chunks: Sequence[pb.ArtifactChunk], delay_s: float = 0.0) -> None:
        self.chunks = list(chunks)
        self.delay_s = delay_s
        self.yielded = 0
        self.finished = threading.Event()

    def FetchArtifact(self, request: Any, context: Any) -> Iterator[Any]:
        try:
            for chunk in self.chunks:
                if self.delay_s:
                    threading.Event().wait(self.delay_s)
                self.yielded += 1
                yield chunk
        finally:
            self.finished.set()


@pytest.fixture
def scripted_server(
    server_tls: TlsMaterial,
) -> Iterator[Callable[..., tuple[int, ScriptedServicer]]]:
    """Start mTLS servers that play a script; returns (port, servicer)."""
    servers: list[Any] = []

    def start(
        chunks: Sequence[pb.ArtifactChunk], delay_s: float = 0.0
    ) -> tuple[int, ScriptedServicer]:
        servicer = ScriptedServicer(chunks, delay_s)
        grpc_server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
        pb_grpc.add_AdapterExchangeServicer_to_server(servicer, grpc_server)
        port = grpc_server.add_secure_port("127.0.0.1:0", server_tls.server_credentials())
        grpc_server.start()
        servers.append(grpc_server)
        return port, servicer

    yield start
    for grpc_server in servers:
        grpc_server.stop(0).wait()


def random_bytes(size: int) -> bytes:
    return os.urandom(size)
