"""An in-process Fabric Gateway gRPC server that checks what a 2.5 peer checks.

It verifies every signature with the certificate in the creator (and that certificate against
its org CA), rejects high-S signatures, recomputes ``tx_id = sha256(nonce || creator)``, checks
the channel header type and channel, runs a Python stand-in for the chaincode, returns a
prepared transaction envelope laid out like the peer's, orders submitted envelopes into
numbered blocks, answers CommitStatus with a validation code, and streams chaincode events per
block honouring the start block and ``after_transaction_id``. Failures are reported the way the
peer reports them: a gRPC status plus ``grpc-status-details-bin`` carrying ErrorDetail entries.
"""

from __future__ import annotations

import hashlib
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from concurrent import futures
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import grpc
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from grpc_status import rpc_status
from tests.fakes.fake_gateway_wire import Outcome, Tx, block_events, prepared_payload, rich_status

from fedlora.ledger._protos import (
    chaincode_pb2,
    common_pb2,
    gateway_pb2,
    gateway_pb2_grpc,
    proposal_pb2,
    proposal_response_pb2,
    transaction_pb2,
)

P256_ORDER = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
ADDRESS = "127.0.0.1:7051"
FIRST_BLOCK = 5  # genesis and config blocks come before the first transaction block


@dataclass(frozen=True)
class Invocation:
    """What the chaincode stand-in is asked to run."""

    function: str
    args: tuple[bytes, ...]
    msp_id: str
    common_name: str
    tx_id: str


Chaincode = Callable[[Invocation], Outcome]


class _Rejected(Exception):
    def __init__(self, code: grpc.StatusCode, message: str, details: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.code, self.message, self.details = code, message, tuple(details)


@dataclass
class FakeGateway(gateway_pb2_grpc.GatewayServicer):  # type: ignore[misc]
    """The peer's Gateway service over in-memory blocks. Knobs for tests are public fields."""

    msp_cas: dict[str, bytes]
    chaincodes: dict[str, Chaincode]
    channel: str = "mychannel"
    tx_per_block: int = 1
    calls: Counter[str] = field(default_factory=Counter)
    validation_codes: deque[str] = field(default_factory=deque)
    injected: dict[str, deque[_Rejected]] = field(default_factory=dict)
    signatures_checked: int = 0
    _blocks: list[list[tuple[Tx, str]]] = field(default_factory=list)
    _open_block: list[tuple[Tx, str]] = field(default_factory=list)
    _prepared: dict[str, tuple[Tx, bytes]] = field(default_factory=dict)
    _committed: dict[str, tuple[str, int]] = field(default_factory=dict)
    _stream_generation: int = 0
    _cond: threading.Condition = field(default_factory=threading.Condition)

    # ---- knobs ---------------------------------------------------------------------------
    def fail_next(
        self, method: str, code: grpc.StatusCode, message: str, details: Sequence[str] = ()
    ) -> None:
        """Make the next call of ``method`` fail with this status (details: ErrorDetail texts)."""
        self.injected.setdefault(method, deque()).append(_Rejected(code, message, details))

    def cut_block(self) -> None:
        """Commit the transactions ordered so far into the next block."""
        with self._cond:
            self._cut_locked()

    def drop_streams(self) -> None:
        """End every open event stream with UNAVAILABLE, as a peer restart would."""
        with self._cond:
            self._stream_generation += 1
            self._cond.notify_all()

    @property
    def height(self) -> int:
        """Number of the next block to be committed."""
        return FIRST_BLOCK + len(self._blocks)

    # ---- Gateway service ----------------------------------------------------------------
    def Evaluate(self, request: Any, context: grpc.ServicerContext) -> Any:
        """Run the chaincode as a query."""
        return self._serve("Evaluate", context, lambda: self._evaluate(request))

    def Endorse(self, request: Any, context: grpc.ServicerContext) -> Any:
        """Simulate and return the prepared transaction envelope."""
        return self._serve("Endorse", context, lambda: self._endorse(request))

    def Submit(self, request: Any, context: grpc.ServicerContext) -> Any:
        """Check the envelope signature and order it."""
        return self._serve("Submit", context, lambda: self._submit(request))

    def CommitStatus(self, request: Any, context: grpc.ServicerContext) -> Any:
        """Wait for the transaction's commit and return its validation code."""
        return self._serve("CommitStatus", context, lambda: self._commit_status(request, context))

    def ChaincodeEvents(self, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        """Stream one response per block holding the chaincode's events of valid txs."""
        try:
            self._enter("ChaincodeEvents")
            inner = gateway_pb2.ChaincodeEventsRequest.FromString(request.request)
            self._verify(inner.identity, request.request, request.signature)
            yield from self._event_blocks(inner, context)
        except _Rejected as rejected:
            _abort(context, rejected)

    # ---- implementation -----------------------------------------------------------------
    def _serve(self, method: str, context: grpc.ServicerContext, handler: Callable[[], Any]) -> Any:
        try:
            self._enter(method)
            return handler()
        except _Rejected as rejected:
            _abort(context, rejected)

    def _enter(self, method: str) -> None:
        with self._cond:
            self.calls[method] += 1
            queue = self.injected.get(method)
            if queue:
                raise queue.popleft()

    def _evaluate(self, request: Any) -> Any:
        proposal = self._check_proposal(request, grpc.StatusCode.FAILED_PRECONDITION)
        outcome = self._run(proposal)
        if outcome.status >= 400:
            text = f"chaincode response {outcome.status}, {outcome.message}"
            raise _Rejected(
                grpc.StatusCode.UNKNOWN, f"evaluate call to endorser returned error: {text}", [text]
            )
        response = proposal_response_pb2.Response(
            status=outcome.status, message=outcome.message, payload=outcome.payload
        )
        return gateway_pb2.EvaluateResponse(result=response)

    def _endorse(self, request: Any) -> Any:
        proposal = self._check_proposal(request, grpc.StatusCode.ABORTED)
        if proposal["tx_id"] in self._committed:
            raise _Rejected(
                grpc.StatusCode.ABORTED,
                "failed to endorse transaction, see attached details for more info",
                [f"duplicate transaction found [{proposal['tx_id']}]"],
            )
        outcome = self._run(proposal)
        if outcome.status >= 400:
            raise _Rejected(
                grpc.StatusCode.ABORTED,
                "failed to endorse transaction, see attached details for more info",
                [f"chaincode response {outcome.status}, {outcome.message}"],
            )
        payload = prepared_payload(proposal, outcome)
        tx = Tx(proposal["tx_id"], proposal["chaincode"], outcome.event, outcome.payload)
        with self._cond:
            self._prepared[tx.tx_id] = (tx, payload)
        return gateway_pb2.EndorseResponse(
            prepared_transaction=common_pb2.Envelope(payload=payload)
        )

    def _submit(self, request: Any) -> Any:
        envelope = request.prepared_transaction
        with self._cond:
            prepared = self._prepared.get(request.transaction_id)
        if prepared is None or prepared[1] != envelope.payload:
            raise _Rejected(
                grpc.StatusCode.FAILED_PRECONDITION,
                "the envelope is not the one the gateway prepared",
            )
        header = common_pb2.Payload.FromString(envelope.payload).header
        creator = common_pb2.SignatureHeader.FromString(header.signature_header).creator
        try:
            self._verify(creator, envelope.payload, envelope.signature)
        except _Rejected:
            raise _Rejected(
                grpc.StatusCode.ABORTED,
                "received unsuccessful response from orderer: status=FORBIDDEN, "
                "info=implicit policy evaluation failed - 0 sub-policies were satisfied, but this "
                "policy requires 1 of the 'Writers' sub-policies to be satisfied",
            ) from None
        with self._cond:
            if request.transaction_id not in self._committed and all(
                tx.tx_id != request.transaction_id for tx, _ in self._open_block
            ):  # a re-sent envelope is accepted and changes nothing
                code = self.validation_codes.popleft() if self.validation_codes else "VALID"
                self._open_block.append((prepared[0], code))
                if len(self._open_block) >= self.tx_per_block:
                    self._cut_locked()
        return gateway_pb2.SubmitResponse()

    def _commit_status(self, request: Any, context: grpc.ServicerContext) -> Any:
        inner = gateway_pb2.CommitStatusRequest.FromString(request.request)
        self._verify(inner.identity, request.request, request.signature)
        with self._cond:
            while inner.transaction_id not in self._committed:
                if not context.is_active():
                    raise _Rejected(grpc.StatusCode.CANCELLED, "client went away")
                self._cond.wait(0.05)
            code, block = self._committed[inner.transaction_id]
        return gateway_pb2.CommitStatusResponse(
            result=transaction_pb2.TxValidationCode.Value(code), block_number=block
        )

    def _event_blocks(self, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        position = request.start_position
        number = position.specified.number if position.HasField("specified") else self.height
        skip_until = request.after_transaction_id or None
        with self._cond:
            generation = self._stream_generation
        while context.is_active():
            with self._cond:
                if self._stream_generation != generation:
                    raise _Rejected(grpc.StatusCode.UNAVAILABLE, "peer is shutting down")
                if number >= self.height:
                    self._cond.wait(0.05)
                    continue
                block = list(self._blocks[number - FIRST_BLOCK]) if number >= FIRST_BLOCK else []
            events = block_events(block, request.chaincode_id, skip_until)
            skip_until = None  # after_transaction_id only applies within the start block
            if events:
                yield gateway_pb2.ChaincodeEventsResponse(events=events, block_number=number)
            number += 1

    def _cut_locked(self) -> None:
        if not self._open_block:
            return
        number = self.height
        self._blocks.append(self._open_block)
        for tx, code in self._open_block:
            self._committed[tx.tx_id] = (code, number)
        self._open_block = []
        self._cond.notify_all()

    def _check_proposal(self, request: Any, auth_code: grpc.StatusCode) -> dict[str, Any]:
        signed = request.proposed_transaction
        proposal = proposal_pb2.Proposal.FromString(signed.proposal_bytes)
        header = common_pb2.Header.FromString(proposal.header)
        signature_header = common_pb2.SignatureHeader.FromString(header.signature_header)
        tx_id = self._check_channel_header(request, header, signature_header)
        try:
            msp_id, cert = self._verify(
                signature_header.creator, signed.proposal_bytes, signed.signature
            )
        except _Rejected:
            raise _Rejected(
                auth_code,
                "failed to endorse transaction, see attached details for more info",
                [f"error validating proposal: access denied: channel [{self.channel}]"],
            ) from None
        payload = proposal_pb2.ChaincodeProposalPayload.FromString(proposal.payload)
        spec = chaincode_pb2.ChaincodeInvocationSpec.FromString(payload.input).chaincode_spec
        name = spec.chaincode_id.name
        if name not in self.chaincodes:
            raise _Rejected(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"no peers available to evaluate chaincode {name} in channel {self.channel}",
            )
        common_name = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)[0].value
        return {"tx_id": tx_id, "chaincode": name, "args": list(spec.input.args),
                "msp_id": msp_id, "common_name": str(common_name), "header": proposal.header,
                "proposal": proposal, "signature_header": header.signature_header}  # fmt: skip

    def _check_channel_header(self, request: Any, header: Any, signature_header: Any) -> str:
        """Header type, channel and tx id as the endorser checks them; returns the tx id."""
        channel_header = common_pb2.ChannelHeader.FromString(header.channel_header)
        if channel_header.type != common_pb2.ENDORSER_TRANSACTION:
            raise _Rejected(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"invalid channel header type {channel_header.type}",
            )
        if channel_header.channel_id != self.channel or request.channel_id != self.channel:
            raise _Rejected(grpc.StatusCode.NOT_FOUND, f"channel '{request.channel_id}' not found")
        expected = hashlib.sha256(signature_header.nonce + signature_header.creator).hexdigest()
        if channel_header.tx_id != expected or request.transaction_id != expected:
            raise _Rejected(
                grpc.StatusCode.FAILED_PRECONDITION,
                f"incorrectly computed txid '{channel_header.tx_id}' -- expected '{expected}'",
            )
        return expected

    def _run(self, proposal: dict[str, Any]) -> Outcome:
        args = proposal["args"]
        invocation = Invocation(
            args[0].decode(),
            tuple(args[1:]),
            proposal["msp_id"],
            proposal["common_name"],
            proposal["tx_id"],
        )
        return self.chaincodes[proposal["chaincode"]](invocation)

    def _verify(
        self, creator: bytes, message: bytes, signature: bytes
    ) -> tuple[str, x509.Certificate]:
        """Check a signature the way the MSP does; returns the signer's MSP id and certificate."""
        from fabric_protos.msp import identities_pb2

        identity = identities_pb2.SerializedIdentity.FromString(creator)
        ca_pem = self.msp_cas.get(identity.mspid)
        if ca_pem is None:
            raise _Rejected(grpc.StatusCode.PERMISSION_DENIED, f"unknown MSP {identity.mspid}")
        cert = x509.load_pem_x509_certificate(identity.id_bytes)
        ca_key = x509.load_pem_x509_certificate(ca_pem).public_key()
        try:
            assert isinstance(ca_key, ec.EllipticCurvePublicKey)
            ca_key.verify(cert.signature, cert.tbs_certificate_bytes, ec.ECDSA(hashes.SHA256()))
            _, s = decode_dss_signature(signature)
            if s > P256_ORDER // 2:
                raise _Rejected(grpc.StatusCode.PERMISSION_DENIED, "signature is not low-S")
            public_key = cert.public_key()
            assert isinstance(public_key, ec.EllipticCurvePublicKey)
            public_key.verify(signature, message, ec.ECDSA(hashes.SHA256()))
        except (InvalidSignature, ValueError) as error:
            raise _Rejected(
                grpc.StatusCode.PERMISSION_DENIED, f"signature check failed: {error!r}"
            ) from None
        with self._cond:
            self.signatures_checked += 1
        return str(identity.mspid), cert


def _abort(context: grpc.ServicerContext, rejected: _Rejected) -> None:
    if rejected.details:
        rows = [(ADDRESS, "Org1MSP", text) for text in rejected.details]
        context.abort_with_status(
            rpc_status.to_status(rich_status(rejected.code, rejected.message, rows))
        )
    context.abort(rejected.code, rejected.message)


@contextmanager
def serve(
    fake: FakeGateway,
    tls: tuple[bytes, bytes] | None = None,
    client_ca: bytes | None = None,
) -> Iterator[str]:
    """Run ``fake`` on a free local port; yields ``host:port``.

    ``tls`` is the server's (cert PEM, key PEM); with ``client_ca`` the server also requires a
    client certificate issued by that CA (mutual TLS, ``clientAuthRequired`` on a peer).
    """
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    gateway_pb2_grpc.add_GatewayServicer_to_server(fake, server)
    if tls is None:
        port = server.add_insecure_port("127.0.0.1:0")
    else:
        credentials = grpc.ssl_server_credentials(
            [(tls[1], tls[0])],
            root_certificates=client_ca,
            require_client_auth=client_ca is not None,
        )
        port = server.add_secure_port("127.0.0.1:0", credentials)
    server.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        fake.drop_streams()
        server.stop(grace=None)
