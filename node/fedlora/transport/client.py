"""Pull artifacts from a peer node over mutual TLS, verifying every byte before handing it over."""

from __future__ import annotations

import logging
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar

import grpc

from fedlora._generated.fedlora.v1 import adapter_exchange_pb2 as pb
from fedlora._generated.fedlora.v1 import adapter_exchange_pb2_grpc as pb_grpc
from fedlora.backoff import Backoff, Deadline, retry
from fedlora.digests import is_sha256_hex
from fedlora.transport.chunking import MAX_CHUNK_SIZE, MESSAGE_OVERHEAD, ChunkAssembler
from fedlora.transport.errors import (
    ArtifactIntegrityError,
    PeerIdentityError,
    PeerLacksArtifactError,
    PeerRefusedError,
    PeerUnavailableError,
    TransportError,
)
from fedlora.transport.limits import client_keepalive_options
from fedlora.transport.metrics import TrafficCounter
from fedlora.transport.pinning import PinnedPeer, presented_certificate
from fedlora.transport.tls import TlsMaterial
from fedlora.transport.wire import FETCH_METHOD, decode_chunk

_log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class ClientTimeouts:
    """Deadlines, in seconds, for each kind of call.

    ``fetch_s`` is the default budget of a whole fetch, retries included; a caller that knows
    the round's phase deadline passes the time left instead (``PeerClient.fetch(deadline_s=)``).
    """

    fetch_s: float = 300.0
    health_s: float = 5.0
    # An unreachable peer must fail fast: gRPC's own connect timeout is 20 s per attempt, so
    # an aggregator would spend a minute on each missing peer before leaving its update out.
    connect_s: float = 5.0


class _NotConnected(grpc.RpcError):  # type: ignore[misc]  # grpc ships no type stubs
    """No connection within the connect timeout: retried, then reported, as UNAVAILABLE."""

    def __init__(self, details: str) -> None:
        super().__init__()
        self._details = details

    def code(self) -> grpc.StatusCode:
        return grpc.StatusCode.UNAVAILABLE

    def details(self) -> str:
        return self._details


# A peer is retried on UNAVAILABLE only, and briefly: another holder may have the artifact.
PEER_RETRY = Backoff(attempts=3, initial_delay_s=0.25, max_delay_s=4.0)


@dataclass(frozen=True)
class PeerHealth:
    """A peer's answer to Health."""

    status: str
    node_id: str
    version: str


_CONNECTION_LOST = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


def _unavailable(error: Exception) -> bool:
    return isinstance(error, grpc.RpcError) and error.code() == grpc.StatusCode.UNAVAILABLE


def _one_line(text: str, limit: int = 300) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


class PeerClient:
    """Client for one peer's AdapterExchange endpoint; one channel, reused by every call.

    Opening it costs a TLS handshake (two when pinned) and closing it up to 0.2 s (gRPC's
    connectivity watcher winds down), so keep one per peer rather than one per fetch
    (:class:`~fedlora.transport.PeerClients`). Safe to share between threads.

    Parameters
    ----------
    endpoint
        ``host:port`` of the peer, as registered on chain.
    tls
        This node's certificate and key (presented to the peer) and the trusted member CAs.
    pinned
        The node expected at ``endpoint`` and its on-chain TLS fingerprint: a server presenting
        any other certificate, even a member's, is refused before anything is requested. Without
        it, any certificate from a member CA is accepted.
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
        pinned: PinnedPeer | None = None,
        expected_server_name: str | None = None,
        timeouts: ClientTimeouts = ClientTimeouts(),
        retry: Backoff = PEER_RETRY,
        traffic: TrafficCounter | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.endpoint = endpoint
        self.traffic = traffic if traffic is not None else TrafficCounter()
        self._tls, self._pinned, self._server_name = tls, pinned, expected_server_name
        self._timeouts, self._retry, self._sleep = timeouts, retry, sleep
        self._options: list[tuple[str, Any]] = [
            ("grpc.max_receive_message_length", MAX_CHUNK_SIZE + MESSAGE_OVERHEAD),
            ("grpc.max_send_message_length", MESSAGE_OVERHEAD),
            *client_keepalive_options(),
        ]
        if expected_server_name:
            self._options.append(("grpc.ssl_target_name_override", expected_server_name))
        self._lock = threading.Lock()
        self._channel: Any = None  # opened by the first call, after the pin is checked
        self._stub: Any = None
        self._fetch_stream: Any = None
        # Set after a call went through, cleared when one finds the peer unavailable: a channel
        # known to be up skips the connection wait (a thread and ~4 ms per call otherwise).
        self._ready = False

    @property
    def pinned(self) -> PinnedPeer | None:
        """The node and certificate this client holds its server to, if any."""
        return self._pinned

    def fetch(self, sha256: str, max_bytes: int, deadline_s: float | None = None) -> bytes:
        """Download artifact ``sha256`` and return it only if its bytes hash to ``sha256``.

        Parameters
        ----------
        sha256
            Content address (64 lowercase hex), normally read from the ledger.
        max_bytes
            Largest artifact accepted; a larger one is refused before its data is read.
        deadline_s
            Seconds the whole fetch may take, connecting and retries included; by default
            ``ClientTimeouts.fetch_s``. Pass the time left in the round's phase, so that a slow
            or stalling peer cannot hold this node past the phase deadline.

        Raises
        ------
        ArtifactIntegrityError
            Wrong bytes, out-of-order or truncated stream.
        PeerUnavailableError
            Unreachable, or no complete artifact within the budget.
        ArtifactTooLargeError, PeerLacksArtifactError, PeerRefusedError, PeerIdentityError
            See each class.
        """
        if not is_sha256_hex(sha256):
            raise TransportError(
                f"not a sha256: {sha256[:80]!r}", "pass the 64-lowercase-hex hash from the ledger"
            )
        budget = Deadline(self._timeouts.fetch_s if deadline_s is None else deadline_s)
        artifact = self._with_retries(
            f"fetch of {sha256[:12]}",
            lambda: self._fetch_once(sha256, max_bytes, budget.left_s()),
            budget,
        )
        self.traffic.artifact_received(self.endpoint, sha256)
        _log.info("fetched artifact %s from %s (%d bytes)", sha256, self.endpoint, len(artifact))
        return artifact

    def _fetch_once(self, sha256: str, max_bytes: int, timeout_s: float) -> bytes:
        request = pb.FetchArtifactRequest(sha256=sha256)
        self.traffic.add_sent(self.endpoint, request.ByteSize())
        stream = self._fetch_stream(request, timeout=timeout_s)
        assembler = ChunkAssembler(sha256, max_bytes)
        try:
            for received in stream:
                self.traffic.add_received(self.endpoint, received.wire_bytes)
                assembler.add(received.chunk)
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

    def _with_retries(self, what: str, call: Callable[[], T], budget: Deadline | None = None) -> T:
        """Connect and ``call``, again after UNAVAILABLE while the retry policy and the budget
        allow; any failure that ends it is translated into a TransportError."""

        def attempt() -> T:
            connect_s = self._timeouts.connect_s
            if budget is not None:
                connect_s = min(connect_s, budget.left_s())
                if connect_s <= 0:
                    raise PeerUnavailableError(
                        f"{what} from {self.endpoint}: no time left "
                        f"(its budget of {budget.seconds:g} s is spent)",
                        "fetch it in the next phase, or from another holder",
                    )
            if not self._ready:
                self._connect(connect_s)
            try:
                answer = call()
            except grpc.RpcError as error:
                self._ready = self._ready and error.code() not in _CONNECTION_LOST
                raise
            self._ready = True
            return answer

        try:
            return retry(
                attempt,
                self._retry,
                _unavailable,
                deadline=budget,
                sleep=self._sleep,
                what=f"{what} from {self.endpoint}",
            )
        except grpc.RpcError as error:
            raise self._translate(error, what) from None

    def _connect(self, timeout_s: float) -> None:
        """Open the channel on first use (pinned, when a pin is given), then wait for it."""
        with self._lock:
            if self._channel is None:
                credentials = self._tls.channel_credentials(self._pinned_server_pem(timeout_s))
                channel = grpc.secure_channel(self.endpoint, credentials, options=self._options)
                self._stub = pb_grpc.AdapterExchangeStub(channel)  # type: ignore[no-untyped-call]
                # FetchArtifact's chunks are decoded without copying their data (see wire).
                self._fetch_stream = channel.unary_stream(
                    FETCH_METHOD,
                    request_serializer=pb.FetchArtifactRequest.SerializeToString,
                    response_deserializer=decode_chunk,
                    _registered_method=True,
                )
                self._channel = channel
        self._wait_connected(timeout_s)

    def _pinned_server_pem(self, timeout_s: float) -> bytes | None:
        """The registered certificate of the pinned node, once its server has presented it."""
        if self._pinned is None:
            return None
        try:
            presented = presented_certificate(
                self.endpoint, self._tls, timeout_s, self._server_name
            )
        except ssl.SSLCertVerificationError as error:
            raise PeerIdentityError(
                f"{self.endpoint} is not node {self._pinned.node_id}: its certificate fails "
                f"verification against the member CAs ({error.verify_message})",
                "fetch from another holder",
            ) from None
        except (OSError, ValueError) as error:  # ValueError: a name the resolver cannot encode
            raise _NotConnected(f"TLS handshake failed: {error}") from None
        return self._pinned.accept(self.endpoint, presented)

    def _wait_connected(self, timeout_s: float) -> None:
        """Return once a connection attempt has ended either way, or raise after ``timeout_s``.

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
            if not settled.wait(timeout_s):
                raise _NotConnected(f"no connection within {timeout_s:g} s")
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
            return PeerLacksArtifactError(f"{prefix}: {details}", "fetch it from another holder")
        if code == grpc.StatusCode.DATA_LOSS:
            return ArtifactIntegrityError(f"{prefix}: {details}", "fetch it from another holder")
        return PeerRefusedError(f"{prefix} failed with {code.name}: {details}")

    def close(self) -> None:
        """Close the channel; a later call opens a new one (checking the pin again)."""
        with self._lock:
            channel, self._channel, self._ready = self._channel, None, False
        if channel is not None:
            _await_connectivity_watcher(channel)
            channel.close()

    def __enter__(self) -> PeerClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _await_connectivity_watcher(channel: Any, limit_s: float = 0.5) -> None:
    """Let gRPC's connectivity thread notice it has no subscribers before the channel closes.

    After ``unsubscribe`` the thread runs up to one more 0.2 s poll; closing the channel under
    it makes it die with "Channel closed!" on stderr (grpcio 1.6x-1.85). Nothing public tells
    when it has stopped, so this reads the channel's own flag, and gives up after ``limit_s``.
    """
    state = getattr(channel, "_connectivity_state", None)
    deadline = time.monotonic() + limit_s
    while getattr(state, "polling", False) and time.monotonic() < deadline:
        time.sleep(0.01)
