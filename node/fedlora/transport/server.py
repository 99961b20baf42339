"""Run an AdapterExchange gRPC server with mutual TLS."""

from __future__ import annotations

import logging
from concurrent import futures
from types import TracebackType
from typing import Any

import grpc

from fedlora.transport.auth import Authorizer
from fedlora.transport.chunking import DEFAULT_CHUNK_SIZE, MAX_CHUNK_SIZE, MESSAGE_OVERHEAD
from fedlora.transport.errors import TransportError
from fedlora.transport.handlers import ArtifactSource
from fedlora.transport.limits import ServingLimits
from fedlora.transport.metrics import TrafficCounter
from fedlora.transport.servicer import AdapterExchangeServicer, add_to_server
from fedlora.transport.tls import TlsMaterial

_log = logging.getLogger(__name__)
_DEFAULT_LIMITS = ServingLimits()


class ArtifactServer:
    """This node's AdapterExchange endpoint; use as a context manager or call start/stop.

    Parameters
    ----------
    source
        The node's artifacts.
    authorizer
        Maps a verified client certificate to a node id, or refuses it.
    tls
        The node's certificate, key and trusted member CAs; clients must present a certificate.
    node_id
        This node's id, reported by Health.
    address
        ``host:port`` to listen on; port 0 picks a free port (see :attr:`port`).
    chunk_size
        Data bytes per streamed chunk (1 .. MAX_CHUNK_SIZE).
    limits
        Streams per peer, threads, per-stream budget and keepalive (see :class:`ServingLimits`).
    traffic
        Counter to record traffic in; a fresh one if omitted.
    """

    def __init__(
        self,
        *,
        source: ArtifactSource,
        authorizer: Authorizer,
        tls: TlsMaterial,
        node_id: str,
        address: str = "127.0.0.1:0",
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        limits: ServingLimits = _DEFAULT_LIMITS,
        traffic: TrafficCounter | None = None,
    ) -> None:
        if not 1 <= chunk_size <= MAX_CHUNK_SIZE:
            raise TransportError(
                f"chunk size {chunk_size} is out of range", f"use 1..{MAX_CHUNK_SIZE} bytes"
            )
        self.traffic = traffic if traffic is not None else TrafficCounter()
        self._address = address
        self._tls = tls
        self._servicer = AdapterExchangeServicer(
            source=source,
            authorizer=authorizer,
            node_id=node_id,
            chunk_size=chunk_size,
            traffic=self.traffic,
            limits=limits,
        )
        self._options = [
            *limits.server_options(),
            ("grpc.max_send_message_length", chunk_size + MESSAGE_OVERHEAD),
            # Requests are a hash or nothing; anything big is not a valid request.
            ("grpc.max_receive_message_length", MESSAGE_OVERHEAD),
            ("grpc.so_reuseport", 0),
        ]
        self._workers = limits.workers
        self._server: Any = None
        self.port = 0

    def start(self) -> int:
        """Start listening; returns the bound port."""
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=self._workers),
            options=self._options,
            # Past this a call is refused at once (RESOURCE_EXHAUSTED) instead of queueing
            # behind streams that may be held until their budget runs out.
            maximum_concurrent_rpcs=self._workers,
        )
        add_to_server(self._servicer, server)
        try:
            port = server.add_secure_port(self._address, self._tls.server_credentials())
        except RuntimeError:
            port = 0
        if port == 0:
            raise TransportError(
                f"cannot listen on {self._address}", "choose a free port or a local address"
            )
        server.start()
        self._server, self.port = server, int(port)
        _log.info("AdapterExchange listening on %s (port %d)", self._address, port)
        return self.port

    def stop(self, grace_s: float = 1.0) -> None:
        """Stop accepting calls and wait up to ``grace_s`` for running ones."""
        if self._server is not None:
            self._server.stop(grace_s).wait()
            self._server = None

    def __enter__(self) -> ArtifactServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
