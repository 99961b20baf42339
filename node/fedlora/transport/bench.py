"""Transfer benchmark: a verified mTLS fetch against bare gRPC streams of the same bytes.

Three paths run on loopback in the same process and the same run, with the same chunk size: the
verified fetch (mTLS, authorization, ``ArtifactChunk`` framing, SHA-256 check while receiving), a
bare stream over the same mutual TLS, and a bare insecure stream. The first against the second
is what fedlora adds; the second against the third is TLS's own share. Connection setup (TLS
handshake) is excluded by a warm-up call on each channel.
"""

from __future__ import annotations

import hashlib
import os
import statistics
import time
from collections.abc import Callable, Iterator
from concurrent import futures
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import grpc

from fedlora.digests import sha256_hex
from fedlora.transport.auth import StaticAuthorizer
from fedlora.transport.chunking import DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE, MESSAGE_OVERHEAD, MIB
from fedlora.transport.client import PeerClient
from fedlora.transport.server import ArtifactServer
from fedlora.transport.throwaway_pki import issue_certificate, make_ca
from fedlora.transport.tls import TlsMaterial

_RAW_METHOD = "/fedlora.bench.RawStream/Stream"


@dataclass(frozen=True)
class TransferMeasurement:
    """Median transfer times of one artifact size over ``repeats`` runs of each path.

    Attributes
    ----------
    size_bytes, chunk_size, repeats
        What was measured.
    mtls_seconds, tls_stream_seconds, raw_seconds
        Median seconds per transfer: verified mTLS fetch, bare stream over mutual TLS, and
        bare insecure gRPC stream.
    mtls_mib_per_s, tls_stream_mib_per_s, raw_mib_per_s
        The corresponding throughputs in MiB/s.
    mtls_wire_bytes
        Serialized message bytes one fetch moved (request plus all chunks).
    sha256_seconds
        One SHA-256 pass over the artifact; a fetch does one (the client, while receiving).
    """

    size_bytes: int
    chunk_size: int
    repeats: int
    mtls_seconds: float
    tls_stream_seconds: float
    raw_seconds: float
    mtls_mib_per_s: float
    tls_stream_mib_per_s: float
    raw_mib_per_s: float
    mtls_wire_bytes: int
    sha256_seconds: float

    @property
    def mtls_overhead(self) -> float:
        """How many times longer the verified mTLS fetch took than the bare stream."""
        return self.mtls_seconds / self.raw_seconds


class _OneArtifact:
    def __init__(self, payload: bytes) -> None:
        self.payload = payload
        self.sha256 = sha256_hex(payload)

    def open(self, sha256: str) -> bytes | None:
        return self.payload if sha256 == self.sha256 else None


def _median_seconds(run: Callable[[], object], repeats: int) -> float:
    durations = []
    for _ in range(repeats):
        started = time.perf_counter()
        run()
        durations.append(time.perf_counter() - started)
    return statistics.median(durations)


def _loopback_pki() -> tuple[TlsMaterial, TlsMaterial]:
    ca = make_ca("ca.bench.local")
    server, client = issue_certificate(ca, "bench-server"), issue_certificate(ca, "bench-client")
    roots = (ca.cert_pem,)
    return (
        TlsMaterial(server.cert_pem, server.key_pem, roots),
        TlsMaterial(client.cert_pem, client.key_pem, roots),
    )


def _time_mtls_fetch(payload: bytes, chunk_size: int, repeats: int) -> tuple[float, int]:
    server_tls, client_tls = _loopback_pki()
    source = _OneArtifact(payload)
    authorizer = StaticAuthorizer({client_tls.fingerprint: "bench-client"})
    with (
        ArtifactServer(
            source=source,
            authorizer=authorizer,
            tls=server_tls,
            node_id="bench-server",
            chunk_size=chunk_size,
        ) as server,
        PeerClient(f"localhost:{server.port}", client_tls) as client,
    ):
        client.health()  # connect and handshake outside the timed runs
        client.traffic.take()
        limit = len(payload)
        seconds = _median_seconds(lambda: client.fetch(source.sha256, limit), repeats)
        traffic = client.traffic.snapshot()[client.endpoint]
        per_fetch = (traffic.bytes_sent + traffic.bytes_received) // repeats
    return seconds, per_fetch


@contextmanager
def _raw_stream_server(payload: bytes, chunk_size: int, tls: TlsMaterial | None) -> Iterator[int]:
    def stream(request: bytes, context: Any) -> Iterator[bytes]:
        view = memoryview(payload)
        for offset in range(0, len(payload), chunk_size):
            yield bytes(view[offset : offset + chunk_size])

    limits = [("grpc.max_send_message_length", chunk_size + MESSAGE_OVERHEAD)]
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2), options=limits)
    service, method = _RAW_METHOD.strip("/").split("/")
    handler = grpc.unary_stream_rpc_method_handler(stream)  # bytes in, bytes out
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(service, {method: handler}),)
    )
    if tls is None:
        port = server.add_insecure_port("127.0.0.1:0")
    else:
        port = server.add_secure_port("localhost:0", tls.server_credentials())
    server.start()
    try:
        yield int(port)
    finally:
        server.stop(0).wait()


def _time_raw_stream(payload: bytes, chunk_size: int, repeats: int, tls: bool) -> float:
    """Median seconds of a bare stream of ``payload``; over mutual TLS when ``tls``."""
    server_tls, client_tls = _loopback_pki() if tls else (None, None)
    limits = [("grpc.max_receive_message_length", MAX_CHUNK_SIZE + MESSAGE_OVERHEAD)]
    with _raw_stream_server(payload, chunk_size, server_tls) as port:
        if client_tls is None:
            channel = grpc.insecure_channel(f"127.0.0.1:{port}", options=limits)
        else:
            credentials = client_tls.channel_credentials()
            channel = grpc.secure_channel(f"localhost:{port}", credentials, options=limits)
        with channel:
            call = channel.unary_stream(_RAW_METHOD)

            def pull() -> bytes:
                return b"".join(call(b"", timeout=300))

            pull()  # connect outside the timed runs
            return _median_seconds(pull, repeats)


def measure_transfer(
    size_bytes: int, *, chunk_size: int = DEFAULT_CHUNK_SIZE, repeats: int = 3
) -> TransferMeasurement:
    """Measure a verified mTLS fetch against bare loopback streams (TLS and not) of its bytes.

    Parameters
    ----------
    size_bytes
        Artifact size to transfer (random bytes).
    chunk_size
        Data bytes per streamed message, the same for both paths.
    repeats
        Timed transfers per path; the median is reported.

    Returns
    -------
    TransferMeasurement
        Times, throughputs and the bytes one fetch put on the wire.
    """
    if size_bytes < 1 or repeats < 1:
        raise ValueError("size_bytes and repeats must be positive")
    payload = os.urandom(size_bytes)
    mtls_seconds, wire_bytes = _time_mtls_fetch(payload, chunk_size, repeats)
    tls_stream_seconds = _time_raw_stream(payload, chunk_size, repeats, tls=True)
    raw_seconds = _time_raw_stream(payload, chunk_size, repeats, tls=False)
    sha256_seconds = _median_seconds(lambda: hashlib.sha256(payload).digest(), repeats)
    mib = size_bytes / MIB
    return TransferMeasurement(
        size_bytes=size_bytes,
        chunk_size=chunk_size,
        repeats=repeats,
        mtls_seconds=mtls_seconds,
        tls_stream_seconds=tls_stream_seconds,
        raw_seconds=raw_seconds,
        mtls_mib_per_s=mib / mtls_seconds,
        tls_stream_mib_per_s=mib / tls_stream_seconds,
        raw_mib_per_s=mib / raw_seconds,
        mtls_wire_bytes=wire_bytes,
        sha256_seconds=sha256_seconds,
    )
