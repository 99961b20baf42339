"""A member that opens streams and never reads them cannot starve the other members.

Each peer may hold only a few streams; a stream not consumed within its budget is cancelled and
its worker freed; and a fetch gives up when the caller's budget (the phase deadline) is spent.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from tests.unit.transport.conftest import SMALL_CHUNK, DictSource, Pki

from fedlora._generated.fedlora.v1 import adapter_exchange_pb2 as pb
from fedlora._generated.fedlora.v1 import adapter_exchange_pb2_grpc as pb_grpc
from fedlora.transport import (
    ArtifactServer,
    ClientTimeouts,
    PeerRefusedError,
    PeerUnavailableError,
    ServingLimits,
    StaticAuthorizer,
    TlsMaterial,
)

MiB = 1024 * 1024
BIG = 16 * MiB  # far more than HTTP/2 flow control lets the server send to a reader that stalls


@pytest.fixture(scope="module")
def greedy_tls(pki: Pki) -> TlsMaterial:
    """A member that holds streams open and does not read them."""
    return pki.node(pki.member_cas[0], "node-m")


@pytest.fixture
def artifacts() -> DictSource:
    return DictSource()


@pytest.fixture
def start_server(
    artifacts: DictSource, server_tls: TlsMaterial, client_tls: TlsMaterial, greedy_tls: TlsMaterial
) -> Iterator[Callable[..., ArtifactServer]]:
    servers: list[ArtifactServer] = []
    members = {client_tls.fingerprint: "node-b", greedy_tls.fingerprint: "node-m"}

    def start(**options: Any) -> ArtifactServer:
        server = ArtifactServer(
            source=artifacts,
            authorizer=StaticAuthorizer(members),
            tls=server_tls,
            node_id="node-a",
            chunk_size=SMALL_CHUNK,
            **options,
        )
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop(grace_s=0)


@pytest.fixture
def greedy_streams(greedy_tls: TlsMaterial) -> Iterator[Callable[[int, str, int], list[Any]]]:
    """Open ``count`` fetches of ``sha`` on one channel and never read them."""
    channels: list[Any] = []
    calls: list[Any] = []

    def open_streams(port: int, sha: str, count: int) -> list[Any]:
        channel = grpc.secure_channel(f"localhost:{port}", greedy_tls.channel_credentials())
        channels.append(channel)
        stub = pb_grpc.AdapterExchangeStub(channel)
        opened = [stub.FetchArtifact(pb.FetchArtifactRequest(sha256=sha)) for _ in range(count)]
        calls.extend(opened)
        return opened

    yield open_streams
    for call in calls:
        call.cancel()
    for channel in channels:
        channel.close()


def _wait_until(condition: Callable[[], bool], timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def _sent_to(server: ArtifactServer, node: str) -> int:
    traffic = server.traffic.snapshot().get(node)
    return traffic.bytes_sent if traffic else 0


def _refused_at_once(call: Any) -> bool:
    return _wait_until(call.done, 2.0) and call.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_a_peer_holding_streams_unread_does_not_stop_another_peer_being_served(
    start_server: Callable[..., ArtifactServer],
    artifacts: DictSource,
    greedy_streams: Callable[[int, str, int], list[Any]],
    make_client: Callable[..., Any],
    client_tls: TlsMaterial,
) -> None:
    big, small = artifacts.add(os.urandom(BIG)), artifacts.add(os.urandom(1000))
    server = start_server()
    greedy_streams(server.port, big, 8)
    assert _wait_until(lambda: _sent_to(server, "node-m") > 0, 5.0)
    honest = make_client(server.port, client_tls, timeouts=ClientTimeouts(fetch_s=3.0))

    assert honest.fetch(small, max_bytes=MiB) == artifacts.artifacts[small]


def test_a_peer_over_its_limit_is_refused_at_once_and_admitted_again_when_a_stream_ends(
    start_server: Callable[..., ArtifactServer],
    artifacts: DictSource,
    greedy_streams: Callable[[int, str, int], list[Any]],
) -> None:
    big = artifacts.add(os.urandom(BIG))
    server = start_server(limits=ServingLimits(streams_per_peer=2))
    held = greedy_streams(server.port, big, 2)
    assert _wait_until(lambda: _sent_to(server, "node-m") > 0, 5.0)

    (extra,) = greedy_streams(server.port, big, 1)
    assert _refused_at_once(extra)
    assert "node-m" in extra.details() and "2" in extra.details()
    assert not any(call.done() for call in held)  # the streams within the limit are untouched

    held[0].cancel()
    (again,) = greedy_streams(server.port, big, 1)
    assert _wait_until(lambda: next(again, None) is not None, 5.0)  # admitted and streaming


def test_a_slow_consumer_is_cut_off_after_its_budget_and_its_slot_freed(
    start_server: Callable[..., ArtifactServer],
    artifacts: DictSource,
    greedy_streams: Callable[[int, str, int], list[Any]],
    make_client: Callable[..., Any],
    greedy_tls: TlsMaterial,
) -> None:
    big, small = artifacts.add(os.urandom(BIG)), artifacts.add(os.urandom(1000))
    limits = ServingLimits(streams_per_peer=1, stream_base_s=1.0, min_rate_bytes_per_s=1 << 40)
    server = start_server(limits=limits)
    # The budget runs from when the stream opens: on a loaded machine the first chunk alone
    # may take most of it, so the clock starts before the stream does.
    started = time.monotonic()
    (slow,) = greedy_streams(server.port, big, 1)
    next(slow)  # one chunk read, then the reader stalls
    same_peer = make_client(server.port, greedy_tls)

    def served_again() -> bool:  # refused while the stalled stream still holds its one slot
        try:
            return bool(same_peer.fetch(small, max_bytes=MiB) == artifacts.artifacts[small])
        except PeerRefusedError as refused:
            assert "RESOURCE_EXHAUSTED" in str(refused)
            return False

    assert _wait_until(served_again, 5.0)
    assert 0.8 < time.monotonic() - started < 3.0
    with pytest.raises(grpc.RpcError) as cut:
        list(slow)  # what was buffered, then the end
    assert cut.value.code() == grpc.StatusCode.CANCELLED


def test_a_fetch_gives_up_when_the_callers_budget_is_spent(
    scripted_server: Any, make_client: Callable[..., Any], client_tls: TlsMaterial
) -> None:
    data = os.urandom(4000)
    chunks = [pb.ArtifactChunk(data=data[i : i + 1000], offset=i, total_size=4000)
              for i in range(0, 4000, 1000)]  # fmt: skip
    chunks[0].sha256 = DictSource().add(data)
    port, _ = scripted_server(chunks, delay_s=1.0)  # a slow-drip server: 4 s for the whole
    client = make_client(port, client_tls)
    started = time.monotonic()

    with pytest.raises(PeerUnavailableError, match="within"):
        client.fetch(chunks[0].sha256, max_bytes=MiB, deadline_s=1.5)
    assert time.monotonic() - started < 2.5


def test_no_budget_left_fails_at_once(
    make_client: Callable[..., Any], client_tls: TlsMaterial
) -> None:
    client = make_client(9, client_tls)  # nothing is dialled
    with pytest.raises(PeerUnavailableError, match="no time left"):
        client.fetch("ab" * 32, max_bytes=MiB, deadline_s=0)
