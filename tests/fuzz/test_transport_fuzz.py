"""Bounded fuzzing of the AdapterExchange request handling and of chunk reassembly.

Properties: a handler only ever streams the exact stored artifact (as ArtifactChunk messages the
protobuf runtime reads) or aborts with one of the documented status codes, and gives back its
peer's stream slot when the call ends; the chunk codec agrees with the protobuf runtime; reassembly
only ever returns bytes that hash to what was asked for, and raises nothing but the transport's
own errors; a pinned peer accepts exactly the registered certificate; a peer never holds more
streams than its limit; an endpoint read from the chain parses to a host and port or is refused.
"""

from __future__ import annotations

import hashlib
import string
from collections.abc import Callable

import grpc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fedlora._generated.fedlora.v1 import adapter_exchange_pb2 as pb
from fedlora.transport import PinnedPeer, ServingLimits, StaticAuthorizer, TrafficCounter
from fedlora.transport.chunking import Chunk, ChunkAssembler, split_into_chunks
from fedlora.transport.errors import (
    ArtifactIntegrityError,
    ArtifactTooLargeError,
    PeerIdentityError,
    TransportError,
)
from fedlora.transport.limits import PeerStreams
from fedlora.transport.pinning import split_endpoint
from fedlora.transport.servicer import AdapterExchangeServicer
from fedlora.transport.throwaway_pki import issue_certificate, make_ca
from fedlora.transport.tls import certificate_fingerprint, pem_to_der
from fedlora.transport.wire import MalformedChunk, decode_chunk, encode_chunk

BOUNDED = settings(max_examples=60, deadline=2000, suppress_health_check=[HealthCheck.too_slow])
_CA = make_ca("ca.fuzz.test")
_PEER = issue_certificate(_CA, "node-b")
_STRANGER = issue_certificate(_CA, "node-x")
_AUTHORIZER = StaticAuthorizer({certificate_fingerprint(pem_to_der(_PEER.cert_pem)): "node-b"})
_HEX = "0123456789abcdef"


class Aborted(Exception):
    def __init__(self, code: grpc.StatusCode, details: str) -> None:
        super().__init__(details)
        self.code = code


class FakeContext:
    """Stands in for grpc.ServicerContext: a peer certificate, an abort that raises, and the
    callbacks gRPC runs when the call ends (:meth:`end`)."""

    def __init__(self, cert_pems: list[bytes]) -> None:
        self._cert_pems = cert_pems
        self._callbacks: list[Callable[[], object]] = []
        self.cancelled = False

    def add_callback(self, callback: Callable[[], object]) -> bool:
        self._callbacks.append(callback)
        return True

    def end(self) -> None:
        for callback in self._callbacks:
            callback()

    def is_active(self) -> bool:
        return not self.cancelled

    def cancel(self) -> None:
        self.cancelled = True

    def auth_context(self) -> dict[str, list[bytes]]:
        return {"x509_pem_cert": self._cert_pems} if self._cert_pems else {}

    def peer(self) -> str:
        return "ipv4:127.0.0.1:1"

    def abort(self, code: grpc.StatusCode, details: str) -> None:
        raise Aborted(code, details)


class DictSource:
    def __init__(self, artifacts: dict[str, bytes]) -> None:
        self.artifacts = artifacts

    def open(self, sha256: str) -> bytes | None:
        return self.artifacts.get(sha256)


def _servicer(artifacts: dict[str, bytes], chunk_size: int) -> AdapterExchangeServicer:
    return AdapterExchangeServicer(
        source=DictSource(artifacts),
        authorizer=_AUTHORIZER,
        node_id="node-a",
        chunk_size=chunk_size,
        traffic=TrafficCounter(),
        limits=ServingLimits(streams_per_peer=1),
    )


sha_like = st.one_of(
    st.text(max_size=80),
    st.text(alphabet=_HEX, min_size=63, max_size=65),
    st.text(alphabet=string.hexdigits, min_size=64, max_size=64),
)


@BOUNDED
@given(
    requested=sha_like,
    stored=st.binary(max_size=3000),
    corrupt=st.booleans(),
    ask_for_stored=st.booleans(),
    chunk_size=st.integers(1, 2048),
)
def test_fetch_handler_streams_the_exact_artifact_or_aborts_with_a_documented_code(
    requested: str, stored: bytes, corrupt: bool, ask_for_stored: bool, chunk_size: int
) -> None:
    key = hashlib.sha256(stored).hexdigest()
    held = stored + b"!" if corrupt else stored  # the server sends it as held; receivers check
    sha = key if ask_for_stored else requested
    servicer = _servicer({key: held}, chunk_size)
    context = FakeContext([_PEER.cert_pem])
    well_formed = len(sha) == 64 and all(c in _HEX for c in sha)
    try:
        messages = list(servicer.FetchArtifact(pb.FetchArtifactRequest(sha256=sha), context))
    except Aborted as aborted:
        expected = grpc.StatusCode.INVALID_ARGUMENT
        if well_formed:
            expected = grpc.StatusCode.NOT_FOUND
        assert aborted.code == expected
        return
    finally:
        context.end()
        assert servicer.streams.open_count("node-b") == 0  # the slot is given back
    assert well_formed and sha == key
    chunks = [pb.ArtifactChunk.FromString(message) for message in messages]
    assert b"".join(c.data for c in chunks) == held
    assert [c.offset for c in chunks] == [i * chunk_size for i in range(len(chunks))]
    assert chunks[0].sha256 == key and all(not c.sha256 for c in chunks[1:])


@BOUNDED
@given(cert_pems=st.lists(st.sampled_from([_STRANGER.cert_pem, b"junk", b""]), max_size=2))
def test_handlers_refuse_callers_without_a_registered_certificate(cert_pems: list[bytes]) -> None:
    servicer = _servicer({}, 16)
    for call in (
        lambda: servicer.Health(pb.HealthRequest(), FakeContext(cert_pems)),
        lambda: list(servicer.FetchArtifact(pb.FetchArtifactRequest(), FakeContext(cert_pems))),
    ):
        with pytest.raises(Aborted) as refused:
            call()
        assert refused.value.code in (
            grpc.StatusCode.PERMISSION_DENIED,
            grpc.StatusCode.UNAUTHENTICATED,
        )


@BOUNDED
@given(data=st.binary(max_size=5000), chunk_size=st.integers(1, 1500))
def test_split_then_reassemble_round_trips(data: bytes, chunk_size: int) -> None:
    sha = hashlib.sha256(data).hexdigest()
    assembler = ChunkAssembler(sha, max_bytes=len(data))
    for chunk in split_into_chunks(data, sha, chunk_size):
        assembler.add(chunk)
    assert assembler.finish() == data


def _mutate(chunks: list[Chunk], kind: str, index: int) -> list[Chunk]:
    i = index % len(chunks)
    mutated = list(chunks)
    c = mutated[i]
    if kind == "drop":
        del mutated[i]
    elif kind == "duplicate":
        mutated.insert(i, c)
    elif kind == "flip" and c.data:
        data = bytes(c.data)
        mutated[i] = Chunk(bytes([data[0] ^ 1]) + data[1:], c.offset, c.total_size, c.sha256)
    elif kind == "grow":
        mutated[i] = Chunk(bytes(c.data) + b"\0", c.offset, c.total_size + 1, c.sha256)
    elif kind == "shift":
        mutated[i] = Chunk(c.data, c.offset + 1, c.total_size, c.sha256)
    return mutated


@BOUNDED
@given(
    data=st.binary(min_size=1, max_size=3000),
    chunk_size=st.integers(1, 1000),
    kind=st.sampled_from(["drop", "duplicate", "flip", "grow", "shift"]),
    index=st.integers(0, 10_000),
)
def test_any_tampering_with_an_honest_stream_is_refused(
    data: bytes, chunk_size: int, kind: str, index: int
) -> None:
    sha = hashlib.sha256(data).hexdigest()
    tampered = _mutate(list(split_into_chunks(data, sha, chunk_size)), kind, index)
    assembler = ChunkAssembler(sha, max_bytes=len(data) + 1)
    with pytest.raises(ArtifactIntegrityError):
        for chunk in tampered:
            assembler.add(chunk)
        assembler.finish()


chunk_strategy = st.builds(
    Chunk,
    data=st.binary(max_size=64),
    offset=st.integers(0, 300),
    total_size=st.integers(0, 300),
    sha256=st.one_of(st.just(""), st.text(alphabet=_HEX, min_size=64, max_size=64)),
)


@BOUNDED
@given(chunks=st.lists(chunk_strategy, max_size=8), max_bytes=st.integers(0, 300))
def test_reassembly_of_arbitrary_chunks_returns_only_verified_bytes(
    chunks: list[Chunk], max_bytes: int
) -> None:
    expected = chunks[0].sha256 if chunks and chunks[0].sha256 else "0" * 64
    assembler = ChunkAssembler(expected, max_bytes)
    try:
        for chunk in chunks:
            assembler.add(chunk)
        result = assembler.finish()
    except (ArtifactIntegrityError, ArtifactTooLargeError):
        return
    assert hashlib.sha256(result).hexdigest() == expected
    assert len(result) <= max_bytes


@BOUNDED
@given(
    data=st.binary(max_size=300),
    offset=st.integers(0, 2**64 - 1),
    total_size=st.integers(0, 2**64 - 1),
    sha256=st.text(max_size=70),
)
def test_the_chunk_codec_writes_and_reads_what_protobuf_does(
    data: bytes, offset: int, total_size: int, sha256: str
) -> None:
    message = pb.ArtifactChunk(data=data, offset=offset, total_size=total_size, sha256=sha256)
    encoded = encode_chunk(memoryview(data), offset, total_size, sha256)
    assert encoded == message.SerializeToString()
    chunk, wire_bytes = decode_chunk(encoded)
    assert (bytes(chunk.data), chunk.offset, chunk.total_size, chunk.sha256) == (
        data, offset, total_size, sha256
    )  # fmt: skip
    assert wire_bytes == message.ByteSize()


def _field(number: int, wire_type: int, payload: bytes) -> bytes:
    def varint(value: int) -> bytes:
        out = bytearray()
        while value > 0x7F:
            out.append(value & 0x7F | 0x80)
            value >>= 7
        return bytes(out + bytes([value]))

    body = varint(len(payload)) + payload if wire_type == 2 else payload
    return varint(number << 3 | wire_type) + body


fields = st.builds(
    _field,
    number=st.integers(0, 6),
    wire_type=st.sampled_from([0, 1, 2, 3, 5, 7]),
    payload=st.binary(max_size=12),
)


@BOUNDED
@given(parts=st.lists(fields, max_size=6), cut=st.integers(0, 200), noise=st.binary(max_size=4))
def test_the_chunk_decoder_reads_any_bytes_as_protobuf_does_or_refuses_them(
    parts: list[bytes], cut: int, noise: bytes
) -> None:
    message = (b"".join(parts) + noise)[: max(cut, 0)]
    try:
        expected = pb.ArtifactChunk.FromString(message)
    except Exception:
        expected = None
    try:
        chunk, _ = decode_chunk(message)
    except MalformedChunk:
        assert expected is None  # nothing protobuf reads is refused
        return
    assert expected is not None  # nothing protobuf refuses is read
    assert (bytes(chunk.data), chunk.offset, chunk.total_size, chunk.sha256) == (
        expected.data, expected.offset, expected.total_size, expected.sha256
    )  # fmt: skip


_OTHER_DER = pem_to_der(_STRANGER.cert_pem)


@BOUNDED
@given(
    presented=st.one_of(st.binary(max_size=600), st.just(_OTHER_DER)),
    registered=st.one_of(st.text(alphabet=_HEX, min_size=64, max_size=64), st.text(max_size=70)),
    registered_is_presented=st.booleans(),
)
def test_a_pinned_peer_accepts_exactly_its_registered_certificate(
    presented: bytes, registered: str, registered_is_presented: bool
) -> None:
    if registered_is_presented:
        registered = certificate_fingerprint(presented).upper()  # the case is not significant
    pinned = PinnedPeer("Org1MSP/a", registered)
    try:
        pem = pinned.accept("10.0.0.5:7051", presented)
    except PeerIdentityError as refused:
        assert certificate_fingerprint(presented) != registered.lower()
        assert "Org1MSP/a" in str(refused)
        return
    assert certificate_fingerprint(presented) == registered.lower()
    assert pem.startswith(b"-----BEGIN CERTIFICATE-----")


@BOUNDED
@given(
    limit=st.integers(1, 4),
    steps=st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), st.booleans()), max_size=60),
)
def test_a_peer_never_holds_more_streams_than_its_limit(
    limit: int, steps: list[tuple[str, bool]]
) -> None:
    streams, held = PeerStreams(limit), {"a": 0, "b": 0, "c": 0}
    for peer, opening in steps:
        if opening:
            admitted = streams.try_open(peer)
            assert admitted == (held[peer] < limit)  # other peers' streams never count
            held[peer] += admitted
        elif held[peer]:
            streams.close(peer)
            held[peer] -= 1
        assert streams.open_count(peer) == held[peer] <= limit


@BOUNDED
@given(
    endpoint=st.one_of(
        st.text(max_size=40),
        st.builds(lambda h, p: f"{h}:{p}", st.text(max_size=20), st.integers(0, 70000)),
    )
)
def test_an_endpoint_from_the_chain_parses_to_host_and_port_or_is_refused(endpoint: str) -> None:
    try:
        host, port = split_endpoint(endpoint)
    except TransportError:
        return
    assert 0 < port < 65536 and endpoint.rpartition(":")[2].lstrip("0") == str(port)
    assert host.isascii() and host.isprintable() and " " not in host and host in endpoint
