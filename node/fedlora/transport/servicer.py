"""The AdapterExchange gRPC servicer: authorize the peer, call a handler, map errors to codes."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Any, NoReturn

import grpc

import fedlora
from fedlora._generated.fedlora.v1 import adapter_exchange_pb2 as pb
from fedlora._generated.fedlora.v1 import adapter_exchange_pb2_grpc as pb_grpc
from fedlora.certificates import certificate_fingerprint
from fedlora.transport.auth import Authorizer, peer_certificate_der
from fedlora.transport.chunking import split_into_chunks
from fedlora.transport.handlers import (
    ArtifactSource,
    InvalidArtifactRequest,
    UnknownArtifact,
    load_requested_artifact,
)
from fedlora.transport.limits import PeerStreams, ServingLimits
from fedlora.transport.metrics import TrafficCounter
from fedlora.transport.wire import SERVICE_NAME, encode_chunk

_log = logging.getLogger(__name__)

SERVING = "SERVING"


def _abort(context: Any, code: grpc.StatusCode, message: str) -> NoReturn:
    context.abort(code, message)
    raise RuntimeError("grpc context.abort returned")  # abort always raises; keeps typing honest


class AdapterExchangeServicer(pb_grpc.AdapterExchangeServicer):  # type: ignore[misc]
    """Serves this node's artifacts to authorized peers.

    Parameters
    ----------
    source
        Where artifacts are read from.
    authorizer
        Decides, from the TLS client certificate, which node is calling (or refuses it).
    node_id
        This node's id, reported by Health.
    chunk_size
        Data bytes per streamed chunk.
    traffic
        Counts bytes and artifacts per calling node.
    limits
        Streams each node may hold at once, and how long each may take.
    """

    def __init__(
        self,
        *,
        source: ArtifactSource,
        authorizer: Authorizer,
        node_id: str,
        chunk_size: int,
        traffic: TrafficCounter,
        limits: ServingLimits,
    ) -> None:
        self._source = source
        self._authorizer = authorizer
        self._node_id = node_id
        self._chunk_size = chunk_size
        self._traffic = traffic
        self._limits = limits
        self.streams = PeerStreams(limits.streams_per_peer)

    def _authorized_peer(self, context: Any) -> str:
        cert_der = peer_certificate_der(context.auth_context())
        if cert_der is None:
            _abort(context, grpc.StatusCode.UNAUTHENTICATED, "no client certificate presented")
        fingerprint = certificate_fingerprint(cert_der)
        try:
            node_id = self._authorizer.authorize(cert_der)
        except Exception:
            _log.exception("authorizer failed for certificate %s", fingerprint)
            _abort(context, grpc.StatusCode.UNAVAILABLE, "cannot check peer authorization now")
        if node_id is None:
            _log.warning(
                "refused %s: certificate %s is not an active node", context.peer(), fingerprint
            )
            _abort(
                context,
                grpc.StatusCode.PERMISSION_DENIED,
                f"client certificate {fingerprint} is not registered as an active node "
                "-- register the node on the channel, or check that it is active",
            )
        return node_id

    def FetchArtifact(self, request: Any, context: Any) -> Iterator[bytes]:
        """Stream the requested artifact to an authorized peer, as serialized ArtifactChunks."""
        peer = self._authorized_peer(context)
        self._traffic.add_received(peer, request.ByteSize())
        self._admit(peer, context)  # before loading: a refused stream costs no memory
        artifact = self._load(request.sha256, context)
        self._cut_off_after(self._limits.stream_budget_s(len(artifact)), peer, context)
        for chunk in split_into_chunks(artifact, request.sha256, self._chunk_size):
            message = encode_chunk(chunk.data, chunk.offset, chunk.total_size, chunk.sha256)
            self._traffic.add_sent(peer, len(message))
            yield message
        self._traffic.artifact_sent(peer, request.sha256)
        _log.info("served artifact %s to %s (%d bytes)", request.sha256, peer, len(artifact))

    def _load(self, sha256: str, context: Any) -> bytes:
        try:
            return load_requested_artifact(self._source, sha256)
        except InvalidArtifactRequest as error:
            _abort(context, grpc.StatusCode.INVALID_ARGUMENT, str(error))
        except UnknownArtifact as error:
            _abort(context, grpc.StatusCode.NOT_FOUND, str(error))

    def _admit(self, peer: str, context: Any) -> None:
        """Count the stream against ``peer``'s limit until it ends, or refuse it at once."""
        if not self.streams.try_open(peer):
            _log.warning("refused a fetch by %s: it already holds %d", peer, self.streams.limit)
            _abort(
                context,
                grpc.StatusCode.RESOURCE_EXHAUSTED,
                f"node {peer} already has {self.streams.limit} fetches open here "
                "-- finish or cancel one first",
            )
        if not context.add_callback(lambda: self.streams.close(peer)):
            self.streams.close(peer)  # the call has already ended

    def _cut_off_after(self, budget_s: float, peer: str, context: Any) -> None:
        """Cancel the stream if it is still open after ``budget_s``, freeing its thread.

        A reader that stalls leaves the serving thread blocked on HTTP/2 flow control; only
        cancelling the call from outside releases it.
        """

        def cut_off() -> None:
            if context.is_active():
                _log.warning("cut off a stream to %s: not consumed within %.0f s", peer, budget_s)
                context.cancel()

        timer = threading.Timer(budget_s, cut_off)
        timer.daemon = True
        timer.start()
        if not context.add_callback(timer.cancel):
            timer.cancel()

    def Health(self, request: Any, context: Any) -> Any:
        """Report this node's id and version to an authorized peer."""
        peer = self._authorized_peer(context)
        response = pb.HealthResponse(
            status=SERVING, node_id=self._node_id, version=fedlora.__version__
        )
        self._traffic.add_received(peer, request.ByteSize())
        self._traffic.add_sent(peer, response.ByteSize())
        return response


def add_to_server(servicer: AdapterExchangeServicer, server: Any) -> None:
    """Register ``servicer`` as the AdapterExchange service of a ``grpc.server``.

    As the generated ``add_AdapterExchangeServicer_to_server`` does, except that FetchArtifact's
    messages are already serialized (``wire.encode_chunk``) and go out as they are.
    """
    handlers = {
        "FetchArtifact": grpc.unary_stream_rpc_method_handler(
            servicer.FetchArtifact,
            request_deserializer=pb.FetchArtifactRequest.FromString,
        ),
        "Health": grpc.unary_unary_rpc_method_handler(
            servicer.Health,
            request_deserializer=pb.HealthRequest.FromString,
            response_serializer=pb.HealthResponse.SerializeToString,
        ),
    }
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE_NAME, handlers),))
    server.add_registered_method_handlers(SERVICE_NAME, handlers)
