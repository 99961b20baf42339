"""Pull artifacts from a peer node over mutual TLS, verifying every byte before handing it over."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar

import grpc

from fedlora._generated.fedlora.v1 import adapter_exchange_pb2 as pb
from fedlora._generated.fedlora.v1 import adapter_exchange_pb2_grpc as pb_grpc
from fedlora.backoff import Backoff
from fedlora.transport.chunking import (
    MAX_CHUNK_SIZE,
    MESSAGE_OVERHEAD,
    Chunk,
    ChunkAssembler,
    is_sha256_hex,
)
from fedlora.transport.errors import (
    ArtifactIntegrityError,
    ArtifactNotFoundError,
    PeerRefusedError,
    PeerUnavailableError,
    TransportError,
)
from fedlora.transport.metrics import TrafficCounter
from fedlora.transport.tls import TlsMaterial

_log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class ClientTimeouts:
    """Deadlines, in seconds, for each kind of call (a fetch's covers the whole stream)."""

    fetch_s: float = 300.0
    health_s: float = 5.0
    # An unreachable peer must fail fast: gRPC's own connect timeout is 20 s per attempt, so
    # an aggregator would spend a minute on each missing peer before leaving its update out.
    connect_s: float = 5.0


class _NotConnected(grpc.RpcError):  # type: ignore[misc]  # grpc ships no type stubs
    """No connection within the connect timeout: retried, then reported, as UNAVAILABLE."""

    def __init__(self, seconds: float) -> None:
        super().__init__()
        self._seconds = seconds

    def code(self) -> grpc.StatusCode:
        return grpc.StatusCode.UNAVAILABLE

    def details(self) -> str:
        return f"no connection within {self._seconds:g} s"


@dataclass(frozen=True)
class RetryPolicy(Backoff):
    """Exponential backoff for UNAVAILABLE; no other failure is retried."""

    attempts: int = 3
    initial_delay_s: float = 0.25
    max_delay_s: float = 4.0


@dataclass(frozen=True)
class PeerHealth:
    """A peer's answer to Health."""

    status: str
    node_id: str
    version: str


def _one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


class PeerClient:
    """Client for one peer's AdapterExchange endpoint.

    Parameters
    ----------
    endpoint
        ``host:port`` of the peer, as registered on chain.
    tls
        This node's certificate and key (presented to the peer) and the trusted member CAs.
    expected_server_name
        Name the peer's certificate must carry, when it differs from the endpoint's host
        (e.g. dialling an IP address while the certificate names a host).
    timeouts, retry
        Deadlines per call and the backoff used on UNAVAILABLE.
    traffic
        Counter to record traffic in (keyed by endpoint); a fresh one if omitted.
    sleep
        Used between retries; injectable so tests need not wait.
    """

    def __init__(
        self,
        endpoint: str,
        tls: TlsMaterial,
        *,
        expected_server_name: str | None = None,
        timeouts: ClientTimeouts = ClientTimeouts(),
        retry: RetryPolicy = RetryPolicy(),
        traffic: TrafficCounter | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.endpoint = endpoint
        self.traffic = traffic if traffic is not None else TrafficCounter()
        self._timeouts, self._retry, self._sleep = timeouts, retry, sleep
        options: list[tuple[str, Any]] = [
            ("grpc.max_receive_message_length", MAX_CHUNK_SIZE + MESSAGE_OVERHEAD),
            ("grpc.max_send_message_length", MESSAGE_OVERHEAD),
        ]
        if expected_server_name:
            options.append(("grpc.ssl_target_name_override", expected_server_name))
        self._channel = grpc.secure_channel(endpoint, tls.channel_credentials(), options=options)
        self._stub = pb_grpc.AdapterExchangeStub(self._channel)  # type: ignore[no-untyped-call]

    def fetch(self, sha256: str, max_bytes: int) -> bytes:
        """Download artifact ``sha256`` and return it only if its bytes hash to ``sha256``.

        Parameters
        ----------
        sha256
            Content address (64 lowercase hex), normally read from the ledger.
        max_bytes
            Largest artifact accepted; a larger one is refused before its data is read.

        Raises
        ------
        ArtifactIntegrityError
            Wrong bytes, out-of-order or truncated stream.
        ArtifactTooLargeError, ArtifactNotFoundError, PeerRefusedError, PeerUnavailableError
            See each class.
        """
        if not is_sha256_hex(sha256):
            raise TransportError(
                f"not a sha256: {sha256[:80]!r}", "pass the 64-lowercase-hex hash from the ledger"
            )
        artifact = self._with_retries(
            f"fetch of {sha256[:12]}", lambda: self._fetch_once(sha256, max_bytes)
        )
        self.traffic.artifact_received(self.endpoint, sha256)
        _log.info("fetched artifact %s from %s (%d bytes)", sha256, self.endpoint, len(artifact))
        return artifact

    def _fetch_once(self, sha256: str, max_bytes: int) -> bytes:
        request = pb.FetchArtifactRequest(sha256=sha256)
        self.traffic.add_sent(self.endpoint, request.ByteSize())
        stream = self._stub.FetchArtifact(request, timeout=self._timeouts.fetch_s)
        assembler = ChunkAssembler(sha256, max_bytes)
        try:
            for message in stream:
                self.traffic.add_received(self.endpoint, message.ByteSize())
                assembler.add(
                    Chunk(message.data, message.offset, message.total_size, message.sha256)
                )
        except TransportError:
            stream.cancel()  # stop reading: nothing more from this stream can be used
            raise
        return assembler.finish()

    def health(self) -> PeerHealth:
        """Ask the peer for its status, node id and version."""
        request = pb.HealthRequest()

        def call() -> Any:
            return self._stub.Health(request, timeout=self._timeouts.health_s)

        response = self._with_retries("health check", call)
        self.traffic.add_sent(self.endpoint, request.ByteSize())
        self.traffic.add_received(self.endpoint, response.ByteSize())
        return PeerHealth(response.status, response.node_id, response.version)

    def _with_retries(self, what: str, call: Callable[[], T]) -> T:
        backoffs = self._retry.delays()
        while True:
            try:
                self._wait_connected()
                return call()
            except grpc.RpcError as error:
                delay = next(backoffs, None)
                if error.code() != grpc.StatusCode.UNAVAILABLE or delay is None:
                    raise self._translate(error, what) from None
                _log.info("%s from %s unavailable, retrying in %.2fs", what, self.endpoint, delay)
                self._sleep(delay)

    def _wait_connected(self) -> None:
        """Return once a connection attempt has ended either way, or raise after connect_s.

        A refused or unroutable peer fails the attempt at once, and the call then reports
        gRPC's own reason; only an attempt still hanging (packets dropped) is cut short here.
        """
        settled = threading.Event()

        def watch(state: grpc.ChannelConnectivity) -> None:
            if state in (
                grpc.ChannelConnectivity.READY,
                grpc.ChannelConnectivity.TRANSIENT_FAILURE,
            ):
                settled.set()

        self._channel.subscribe(watch, try_to_connect=True)
        try:
            if not settled.wait(self._timeouts.connect_s):
                raise _NotConnected(self._timeouts.connect_s)
        finally:
            self._channel.unsubscribe(watch)

    def _translate(self, error: Any, what: str) -> TransportError:
        code, details = error.code(), _one_line(error.details() or "")
        prefix = f"{what} from {self.endpoint}"
        if code == grpc.StatusCode.UNAVAILABLE:
            return PeerUnavailableError(
                f"{prefix}: peer unavailable after {self._retry.attempts} attempt(s) ({details})",
                "check the peer is running, its endpoint, and that each side trusts the other's CA",
            )
        if code == grpc.StatusCode.DEADLINE_EXCEEDED:
            return PeerUnavailableError(
                f"{prefix}: no complete answer within the deadline", "retry later or raise it"
            )
        if code in (grpc.StatusCode.PERMISSION_DENIED, grpc.StatusCode.UNAUTHENTICATED):
            return PeerRefusedError(f"{prefix} refused: {details}")
        if code == grpc.StatusCode.NOT_FOUND:
            return ArtifactNotFoundError(f"{prefix}: {details}", "fetch it from another holder")
        if code == grpc.StatusCode.DATA_LOSS:
            return ArtifactIntegrityError(f"{prefix}: {details}", "fetch it from another holder")
        return PeerRefusedError(f"{prefix} failed with {code.name}: {details}")

    def close(self) -> None:
        """Close the channel."""
        self._channel.close()

    def __enter__(self) -> PeerClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()
