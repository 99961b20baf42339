"""A client holds the server to the certificate its node registered on chain, not to any member's.

Every member's certificate chains to a trusted CA, so without the pin one member could answer
at another's endpoint and be trusted.
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from tests.unit.transport.conftest import DictSource, Pki, RecordingAuthorizer

from fedlora.daemon.wiring import ChainLedger, PeerFetcher
from fedlora.transport import (
    ArtifactServer,
    PeerIdentityError,
    PeerUnavailableError,
    PinnedPeer,
    StaticAuthorizer,
    TlsMaterial,
    TrafficCounter,
)

KiB = 1024


@pytest.fixture(scope="module")
def impostor_tls(pki: Pki) -> TlsMaterial:
    """Another member's node: a valid certificate from a member CA, but not node-a's."""
    return pki.node(pki.member_cas[1], "node-m")


@pytest.fixture
def data() -> bytes:
    return os.urandom(3 * KiB)


@pytest.fixture
def start_server(
    client_tls: TlsMaterial, data: bytes
) -> Iterator[Callable[[TlsMaterial], tuple[ArtifactServer, RecordingAuthorizer]]]:
    """Start a server holding ``data`` for node-b; its authorizer records every call it sees."""
    servers: list[ArtifactServer] = []

    def start(tls: TlsMaterial) -> tuple[ArtifactServer, RecordingAuthorizer]:
        source = DictSource()
        source.add(data)
        authorizer = RecordingAuthorizer(StaticAuthorizer({client_tls.fingerprint: "node-b"}))
        server = ArtifactServer(source=source, authorizer=authorizer, tls=tls, node_id="x")
        server.start()
        servers.append(server)
        return server, authorizer

    yield start
    for server in servers:
        server.stop(grace_s=0)


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_the_registered_server_is_served(
    start_server: Any,
    make_client: Any,
    server_tls: TlsMaterial,
    client_tls: TlsMaterial,
    data: bytes,
) -> None:
    server, _ = start_server(server_tls)
    client = make_client(
        server.port, client_tls, pinned=PinnedPeer("node-a", server_tls.fingerprint)
    )
    assert client.fetch(_sha(data), max_bytes=KiB * KiB) == data


def test_a_server_presenting_another_members_valid_certificate_is_refused(
    start_server: Any,
    make_client: Any,
    server_tls: TlsMaterial,
    client_tls: TlsMaterial,
    impostor_tls: TlsMaterial,
    data: bytes,
) -> None:
    impostor, seen = start_server(impostor_tls)  # answers at the endpoint node-a registered
    client = make_client(
        impostor.port, client_tls, pinned=PinnedPeer("node-a", server_tls.fingerprint)
    )

    with pytest.raises(PeerIdentityError, match="is not node node-a") as refused:
        client.fetch(_sha(data), max_bytes=KiB * KiB)
    assert impostor_tls.fingerprint[:16] in str(refused.value)
    assert server_tls.fingerprint[:16] in str(refused.value)
    assert seen.seen == []  # refused after the handshake, before anything was requested


def test_a_server_swapping_certificates_after_the_check_gets_no_request(
    start_server: Any,
    make_client: Any,
    server_tls: TlsMaterial,
    client_tls: TlsMaterial,
    impostor_tls: TlsMaterial,
    data: bytes,
) -> None:
    # The check's handshake reaches node-a; the gRPC connection after it, the impostor. The
    # channel trusts node-a's certificate only, so it never completes its handshake.
    honest, _ = start_server(server_tls)
    impostor, seen = start_server(impostor_tls)
    with Switchboard(first_port=honest.port, then_port=impostor.port) as relay:
        client = make_client(
            relay.port, client_tls, pinned=PinnedPeer("node-a", server_tls.fingerprint)
        )
        with pytest.raises(PeerUnavailableError, match="CERTIFICATE_VERIFY_FAILED"):
            client.fetch(_sha(data), max_bytes=KiB * KiB)
    assert relay.connections >= 2 and seen.seen == []


def test_a_registered_certificate_from_no_member_ca_is_refused(
    start_server: Any, make_client: Any, pki: Pki, client_tls: TlsMaterial, data: bytes
) -> None:
    foreign = pki.node(pki.foreign_ca, "node-f")
    server, seen = start_server(foreign)
    client = make_client(server.port, client_tls, pinned=PinnedPeer("node-f", foreign.fingerprint))
    with pytest.raises(PeerIdentityError, match="fails verification against the member CAs"):
        client.fetch(_sha(data), max_bytes=KiB * KiB)
    assert seen.seen == []


@dataclass
class ChainedNode:
    endpoint: str
    tls_cert_sha256: str


class ChainStub:
    """The contract's node records, as ChainLedger reads them."""

    def __init__(self, nodes: dict[str, ChainedNode]) -> None:
        self.nodes = nodes

    def node_endpoint(self, node_id: str) -> str:
        return self.nodes[node_id].endpoint

    def get_node(self, node_id: str) -> ChainedNode:
        return self.nodes[node_id]


def test_the_fetcher_pins_each_node_to_the_fingerprint_it_registered(
    start_server: Any,
    server_tls: TlsMaterial,
    client_tls: TlsMaterial,
    impostor_tls: TlsMaterial,
    data: bytes,
) -> None:
    honest, _ = start_server(server_tls)
    impostor, seen = start_server(impostor_tls)
    chain = ChainStub(
        {
            "Org1MSP/a": ChainedNode(f"localhost:{honest.port}", server_tls.fingerprint),
            # node c's endpoint now reaches the impostor (a reused address, a hijacked name)
            "Org1MSP/c": ChainedNode(f"localhost:{impostor.port}", "cd" * 32),
        }
    )
    fetcher = PeerFetcher(ChainLedger(chain), client_tls, KiB * KiB, TrafficCounter())  # type: ignore[arg-type]

    assert fetcher.fetch("Org1MSP/a", _sha(data)) == data
    with pytest.raises(PeerIdentityError, match="is not node Org1MSP/c"):
        fetcher.fetch("Org1MSP/c", _sha(data))
    assert seen.seen == []
    with pytest.raises(PeerUnavailableError, match="no time left"):
        fetcher.fetch("Org1MSP/a", _sha(data), deadline_s=0)  # the phase is over


class Switchboard:
    """A TCP relay that sends its first connection to one port and every later one to another."""

    def __init__(self, first_port: int, then_port: int) -> None:
        self._ports = (first_port, then_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.connections = 0
        self._sockets: list[socket.socket] = [self._listener]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                inbound, _ = self._listener.accept()
            except OSError:
                return  # closed
            port = self._ports[min(self.connections, 1)]
            self.connections += 1
            outbound = socket.create_connection(("127.0.0.1", port))
            self._sockets += [inbound, outbound]
            for source, sink in ((inbound, outbound), (outbound, inbound)):
                threading.Thread(target=_pipe, args=(source, sink), daemon=True).start()

    def __enter__(self) -> Switchboard:
        return self

    def __exit__(self, *exc: object) -> None:
        for sock in self._sockets:
            sock.close()


def _pipe(source: socket.socket, sink: socket.socket) -> None:
    try:
        while chunk := source.recv(64 * KiB):
            sink.sendall(chunk)
        sink.shutdown(socket.SHUT_WR)
    except OSError:
        pass  # either side closed
