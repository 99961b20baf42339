"""A Fabric Gateway client in pure Python, shaped like the official Go and Node clients.

    gateway = Gateway.connect("127.0.0.1:7051", tls_ca_pem, identity, signer)
    contract = gateway.network("fedlora").contract("fedlora", "fedlora")
    contract.evaluate("GetSession", "s1")          # query: one peer, nothing ordered
    contract.submit("JoinSession", "s1")           # endorse, sign, submit, wait for VALID

Every signature (proposal, envelope, commit-status and events requests) is made over the
exact bytes that are sent; the prepared transaction is signed as the peer returned it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import grpc

from fedlora.backoff import Backoff
from fedlora.identity import Identity, Signer
from fedlora.ledger._protos import ab_pb2, gateway_pb2, gateway_pb2_grpc
from fedlora.ledger.commit import Commit
from fedlora.ledger.errors import (
    CommitError,
    EndorseError,
    EvaluateError,
    SubmitError,
)
from fedlora.ledger.events import ChaincodeEventStream, Checkpoint, Checkpointer
from fedlora.ledger.proposal import (
    Arg,
    TransactionContext,
    build_proposal,
    qualified_name,
    result_from_envelope,
    sign_proposal,
)
from fedlora.ledger.retry import call_with_retry

MAX_MESSAGE_BYTES = 100 * 1024 * 1024  # the peer's and orderer's default limit


@dataclass(frozen=True)
class GatewayOptions:
    """Per-phase timeouts (seconds), message size limit, keepalive and retry behaviour."""

    evaluate_timeout_s: float = 5.0
    endorse_timeout_s: float = 15.0
    submit_timeout_s: float = 5.0
    commit_status_timeout_s: float = 60.0
    max_message_bytes: int = MAX_MESSAGE_BYTES
    # Fabric peers send GOAWAY to clients pinging more often than every 60 s by default.
    keepalive_time_s: float = 120.0
    keepalive_timeout_s: float = 20.0
    tls_server_name: str | None = None
    retry: Backoff = field(default_factory=Backoff)

    def channel_options(self) -> list[tuple[str, int | str]]:
        """gRPC channel arguments for these options."""
        options: list[tuple[str, int | str]] = [
            ("grpc.max_receive_message_length", self.max_message_bytes),
            ("grpc.max_send_message_length", self.max_message_bytes),
            ("grpc.keepalive_time_ms", int(self.keepalive_time_s * 1000)),
            ("grpc.keepalive_timeout_ms", int(self.keepalive_timeout_s * 1000)),
        ]
        if self.tls_server_name:
            options.append(("grpc.ssl_target_name_override", self.tls_server_name))
        return options


class Gateway:
    """A connection to one peer's Gateway service, acting as one signing identity."""

    def __init__(
        self,
        channel: grpc.Channel,
        identity: Identity,
        signer: Signer,
        options: GatewayOptions | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.identity = identity
        self.signer = signer
        self.options = options or GatewayOptions()
        self._channel = channel
        self.sleep = sleep
        self.stub: Any = gateway_pb2_grpc.GatewayStub(channel)

    @classmethod
    def connect(
        cls,
        endpoint: str,
        tls_ca_pem: bytes | None,
        identity: Identity,
        signer: Signer,
        options: GatewayOptions | None = None,
        *,
        client_cert_pem: bytes | None = None,
        client_key_pem: bytes | None = None,
    ) -> Gateway:
        """Open a gRPC channel to ``endpoint`` (``host:port``) and wrap it.

        Parameters
        ----------
        endpoint
            The peer's address, dialled exactly as written (its TLS SANs must cover it).
        tls_ca_pem
            The peer org's TLS CA; ``None`` dials without TLS (only for local test servers).
        identity, signer
            Who signs the transactions.
        options
            Timeouts, size limit, keepalive, retry policy; defaults suit a local network.
        client_cert_pem, client_key_pem
            TLS client certificate and key, when the peer requires mutual TLS.
        """
        options = options or GatewayOptions()
        if tls_ca_pem is None:
            channel = grpc.insecure_channel(endpoint, options=options.channel_options())
        else:
            credentials = grpc.ssl_channel_credentials(
                root_certificates=tls_ca_pem,
                private_key=client_key_pem,
                certificate_chain=client_cert_pem,
            )
            channel = grpc.secure_channel(endpoint, credentials, options.channel_options())
        return cls(channel, identity, signer, options)

    def network(self, channel_name: str) -> Network:
        """The named channel."""
        return Network(self, channel_name)

    def close(self) -> None:
        """Close the gRPC channel (open event streams end too)."""
        self._channel.close()

    def __enter__(self) -> Gateway:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def sign_request(self, request: Any) -> tuple[bytes, bytes]:
        """Serialize a request once and sign those bytes: ``(request_bytes, signature)``."""
        request_bytes = bytes(request.SerializeToString())
        return request_bytes, self.signer.sign(request_bytes)


class Network:
    """One channel, seen through a Gateway."""

    def __init__(self, gateway: Gateway, name: str) -> None:
        self.gateway = gateway
        self.name = name

    def contract(self, chaincode: str, contract_name: str | None = None) -> Contract:
        """A chaincode's contract; with ``contract_name`` transactions go to ``name:fn``."""
        return Contract(self, chaincode, contract_name)

    def chaincode_events(
        self,
        chaincode: str,
        *,
        checkpointer: Checkpointer | None = None,
        checkpoint: Checkpoint | None = None,
        start_block: int | None = None,
    ) -> ChaincodeEventStream:
        """Stream the chaincode's events of valid transactions.

        The start is, in order of preference: the checkpointer's saved position, the given
        ``checkpoint`` (both resume after that event), ``start_block``, or the next commit.
        """
        gateway = self.gateway

        def open_call(resume: Checkpoint | None, block: int | None) -> Any:
            request = gateway_pb2.ChaincodeEventsRequest(
                channel_id=self.name,
                chaincode_id=chaincode,
                identity=gateway.identity.creator,
                start_position=_start_position(resume, block),
                after_transaction_id=resume.tx_id if resume else "",
            )
            request_bytes, signature = gateway.sign_request(request)
            signed = gateway_pb2.SignedChaincodeEventsRequest(
                request=request_bytes, signature=signature
            )
            # A long-lived stream: no deadline; close() cancels it.
            return gateway.stub.ChaincodeEvents(signed)

        return ChaincodeEventStream(
            open_call,
            chaincode=chaincode,
            checkpointer=checkpointer,
            start=checkpoint,
            start_block=start_block,
            retry=gateway.options.retry,
            sleep=gateway.sleep,
        )


def _start_position(resume: Checkpoint | None, block: int | None) -> Any:
    if resume is not None:
        return ab_pb2.SeekPosition(specified=ab_pb2.SeekSpecified(number=resume.block_number))
    if block is not None:
        return ab_pb2.SeekPosition(specified=ab_pb2.SeekSpecified(number=block))
    return ab_pb2.SeekPosition(next_commit=ab_pb2.SeekNextCommit())


class Contract:
    """Evaluate and submit transactions of one chaincode contract."""

    def __init__(self, network: Network, chaincode: str, contract_name: str | None) -> None:
        self.network = network
        self.chaincode = chaincode
        self.contract_name = contract_name

    def evaluate(
        self, name: str, *args: Arg, transient: Mapping[str, bytes] | None = None
    ) -> bytes:
        """Run a query on one peer and return the chaincode's response payload."""
        gateway = self.network.gateway
        return call_with_retry(
            lambda: self._evaluate_once(name, args, transient),
            gateway.options.retry,
            gateway.sleep,
        )

    def submit(
        self,
        name: str,
        *args: Arg,
        transient: Mapping[str, bytes] | None = None,
        endorsing_organizations: Sequence[str] = (),
    ) -> bytes:
        """Endorse, submit and wait for the commit; return the chaincode's response payload.

        Raises
        ------
        EndorseError, SubmitError, CommitStatusError
            A phase failed (``error.chaincode`` holds a contract rejection, if that was it).
        CommitError
            The transaction was ordered but is invalid (validation code other than VALID).
        """
        gateway = self.network.gateway

        def attempt() -> bytes:
            result, commit = self._endorse_and_submit(
                name, args, transient, endorsing_organizations
            )
            status = commit.status()
            if not status.successful:
                raise CommitError(
                    commit.operation,
                    commit.tx_id,
                    status.code,
                    status.code_name,
                    status.block_number,
                )
            return result

        return call_with_retry(attempt, gateway.options.retry, gateway.sleep)

    def submit_async(
        self,
        name: str,
        *args: Arg,
        transient: Mapping[str, bytes] | None = None,
        endorsing_organizations: Sequence[str] = (),
    ) -> tuple[bytes, Commit]:
        """Endorse and submit; return the result and a :class:`Commit` to await later."""
        gateway = self.network.gateway
        return call_with_retry(
            lambda: self._endorse_and_submit(name, args, transient, endorsing_organizations),
            gateway.options.retry,
            gateway.sleep,
        )

    def _operation(self, name: str) -> str:
        return qualified_name(self.contract_name, name)

    def _signed_proposal(
        self, name: str, args: Sequence[Arg], transient: Mapping[str, bytes] | None
    ) -> tuple[str, Any]:
        gateway = self.network.gateway
        context = TransactionContext.new(gateway.identity.creator)
        proposal_bytes = build_proposal(
            context, self.network.name, self.chaincode, self._operation(name), args, transient
        )
        return context.tx_id, sign_proposal(proposal_bytes, gateway.signer)

    def _evaluate_once(
        self, name: str, args: Sequence[Arg], transient: Mapping[str, bytes] | None
    ) -> bytes:
        gateway = self.network.gateway
        tx_id, signed = self._signed_proposal(name, args, transient)
        request = gateway_pb2.EvaluateRequest(
            transaction_id=tx_id, channel_id=self.network.name, proposed_transaction=signed
        )
        try:
            response = gateway.stub.Evaluate(request, timeout=gateway.options.evaluate_timeout_s)
        except grpc.RpcError as error:
            raise EvaluateError.from_rpc_error(self._operation(name), error, tx_id) from None
        return bytes(response.result.payload)

    def _endorse_and_submit(
        self,
        name: str,
        args: Sequence[Arg],
        transient: Mapping[str, bytes] | None,
        endorsing_organizations: Sequence[str],
    ) -> tuple[bytes, Commit]:
        gateway, operation = self.network.gateway, self._operation(name)
        tx_id, signed = self._signed_proposal(name, args, transient)
        endorse = gateway_pb2.EndorseRequest(
            transaction_id=tx_id,
            channel_id=self.network.name,
            proposed_transaction=signed,
            endorsing_organizations=list(endorsing_organizations),
        )
        try:
            response = gateway.stub.Endorse(endorse, timeout=gateway.options.endorse_timeout_s)
        except grpc.RpcError as error:
            raise EndorseError.from_rpc_error(operation, error, tx_id) from None
        envelope = response.prepared_transaction
        result = result_from_envelope(envelope)
        # Sign the payload bytes exactly as the peer returned them; never re-serialize.
        envelope.signature = gateway.signer.sign(bytes(envelope.payload))
        submit = gateway_pb2.SubmitRequest(
            transaction_id=tx_id, channel_id=self.network.name, prepared_transaction=envelope
        )
        try:
            gateway.stub.Submit(submit, timeout=gateway.options.submit_timeout_s)
        except grpc.RpcError as error:
            raise SubmitError.from_rpc_error(operation, error, tx_id) from None
        return result, Commit(gateway, self.network.name, tx_id, operation)
