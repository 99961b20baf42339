"""How much of a node one peer may hold, and for how long, so no member can starve the others.

A member that opens streams and never reads them, or reads them a byte at a time, would keep a
server thread per stream; with a small pool it could keep every honest member from being served
before the round's phase deadline. So each peer may hold only a few streams at once, each stream
must be consumed within a budget that grows with the artifact's size, and connections whose
other end went silent are reaped by keepalive pings.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

# The server pings every connection this often and drops one whose ping goes unanswered for
# PING_TIMEOUT_S: a peer that vanished without closing frees its streams within ~40 s.
PING_INTERVAL_S = 30.0
PING_TIMEOUT_S = 10.0
# Clients may ping no more often than this while no data flows; one that keeps doing so is
# disconnected. Our own clients ping every PING_INTERVAL_S, well above it.
MIN_CLIENT_PING_INTERVAL_S = 10.0
# A connection that carries no call for this long is closed (every fetch dials afresh).
MAX_IDLE_CONNECTION_S = 120.0
# A TCP connection that has not finished its TLS handshake by then is dropped.
HANDSHAKE_TIMEOUT_S = 10.0
# Threads beyond the streams: Health calls and refusals, which finish at once.
_SPARE_WORKERS = 8


def _ms(seconds: float) -> int:
    return int(seconds * 1000)


@dataclass(frozen=True)
class ServingLimits:
    """What an :class:`~fedlora.transport.ArtifactServer` grants each peer.

    Attributes
    ----------
    streams_per_peer
        Fetches one node may have open at once; one more is refused with RESOURCE_EXHAUSTED.
        Honest nodes fetch from a holder one artifact at a time.
    max_peers
        Members the server is sized for: it keeps ``streams_per_peer`` threads for each, so
        every member can be served while all the others hold their limit.
    stream_base_s, min_rate_bytes_per_s
        A stream must be consumed within ``stream_base_s`` plus its size at
        ``min_rate_bytes_per_s``; past that it is cancelled and its thread freed. The defaults
        give a 64 MiB adapter 158 s (a 4 Mbit/s link).
    """

    streams_per_peer: int = 2
    max_peers: int = 32
    stream_base_s: float = 30.0
    min_rate_bytes_per_s: float = 512 * 1024

    def __post_init__(self) -> None:
        if self.streams_per_peer < 1 or self.max_peers < 1:
            raise ValueError("streams_per_peer and max_peers must be at least 1")
        if self.stream_base_s <= 0 or self.min_rate_bytes_per_s <= 0:
            raise ValueError("stream_base_s and min_rate_bytes_per_s must be positive")

    @property
    def workers(self) -> int:
        """Server threads: a full quota of streams for every member, plus a few spare."""
        return self.streams_per_peer * self.max_peers + _SPARE_WORKERS

    def stream_budget_s(self, size_bytes: int) -> float:
        """Seconds a peer gets to consume a stream of ``size_bytes``."""
        return self.stream_base_s + size_bytes / self.min_rate_bytes_per_s

    def server_options(self) -> list[tuple[str, Any]]:
        """gRPC server options: keepalive pings, ping abuse, idle and handshake limits."""
        return [
            ("grpc.keepalive_time_ms", _ms(PING_INTERVAL_S)),
            ("grpc.keepalive_timeout_ms", _ms(PING_TIMEOUT_S)),
            ("grpc.http2.min_ping_interval_without_data_ms", _ms(MIN_CLIENT_PING_INTERVAL_S)),
            ("grpc.http2.max_ping_strikes", 2),
            ("grpc.max_connection_idle_ms", _ms(MAX_IDLE_CONNECTION_S)),
            ("grpc.server_handshake_timeout_ms", _ms(HANDSHAKE_TIMEOUT_S)),
        ]


def client_keepalive_options() -> list[tuple[str, Any]]:
    """gRPC channel options that notice a silent server within PING_INTERVAL_S + PING_TIMEOUT_S."""
    return [
        ("grpc.keepalive_time_ms", _ms(PING_INTERVAL_S)),
        ("grpc.keepalive_timeout_ms", _ms(PING_TIMEOUT_S)),
    ]


class PeerStreams:
    """Open streams per peer, never more than ``limit`` for any one (thread-safe)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._open: dict[str, int] = {}

    def try_open(self, peer: str) -> bool:
        """Count one more stream for ``peer``; False, counting nothing, when it is at its limit."""
        with self._lock:
            count = self._open.get(peer, 0)
            if count >= self.limit:
                return False
            self._open[peer] = count + 1
            return True

    def close(self, peer: str) -> None:
        """One of ``peer``'s streams ended."""
        with self._lock:
            count = self._open.get(peer, 0) - 1
            if count > 0:
                self._open[peer] = count
            else:
                self._open.pop(peer, None)

    def open_count(self, peer: str) -> int:
        """Streams ``peer`` holds now."""
        with self._lock:
            return self._open.get(peer, 0)
