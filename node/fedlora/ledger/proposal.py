"""Build signed Fabric proposals and read the chaincode result out of a prepared transaction.

The byte layout follows the Fabric Gateway protocol (fabric-protos v0.3):

    SignedProposal{proposal_bytes = Proposal{header, payload}, signature}
    Header{channel_header = ChannelHeader{type=ENDORSER_TRANSACTION, tx_id, channel_id, timestamp,
           extension = ChaincodeHeaderExtension{chaincode_id}},
           signature_header = SignatureHeader{creator, nonce}}
    payload = ChaincodeProposalPayload{input = ChaincodeInvocationSpec{args = [fn, *args]}}

The peer recomputes ``tx_id = hex(sha256(nonce || creator))`` and rejects a mismatch.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from fedlora.identity import Signer
from fedlora.ledger._protos import (
    chaincode_pb2 as chaincode_proto,
)
from fedlora.ledger._protos import (
    common_pb2,
    proposal_pb2,
    proposal_response_pb2,
    transaction_pb2,
)
from fedlora.ledger.errors import LedgerDataError

NONCE_BYTES = 24
Arg = str | bytes


def transaction_id(nonce: bytes, creator: bytes) -> str:
    """``hex(sha256(nonce || creator))``: the only tx id a Fabric peer accepts."""
    return hashlib.sha256(nonce + creator).hexdigest()


@dataclass(frozen=True)
class TransactionContext:
    """The nonce and creator of one transaction, and the tx id derived from them."""

    nonce: bytes
    creator: bytes

    @classmethod
    def new(cls, creator: bytes) -> TransactionContext:
        """A fresh context with a random nonce: every attempt of a transaction needs one."""
        return cls(nonce=os.urandom(NONCE_BYTES), creator=creator)

    @property
    def tx_id(self) -> str:
        """The transaction id derived from nonce and creator."""
        return transaction_id(self.nonce, self.creator)

    def signature_header(self) -> bytes:
        """Serialized ``common.SignatureHeader{creator, nonce}``."""
        header = common_pb2.SignatureHeader(creator=self.creator, nonce=self.nonce)
        return bytes(header.SerializeToString())


def qualified_name(contract_name: str | None, transaction: str) -> str:
    """``contract:transaction`` when a contract name is given (contractapi routing)."""
    return f"{contract_name}:{transaction}" if contract_name else transaction


def encode_args(args: Sequence[Arg]) -> list[bytes]:
    """Chaincode arguments as bytes (strings are UTF-8)."""
    return [arg.encode("utf-8") if isinstance(arg, str) else bytes(arg) for arg in args]


def build_proposal(
    context: TransactionContext,
    channel: str,
    chaincode: str,
    transaction: str,
    args: Sequence[Arg] = (),
    transient: Mapping[str, bytes] | None = None,
) -> bytes:
    """Serialize the ``Proposal`` for one chaincode invocation.

    Parameters
    ----------
    context
        Nonce and creator; ``context.tx_id`` becomes the channel header's tx id.
    channel, chaincode
        Channel name and chaincode name.
    transaction
        The (possibly contract-qualified) transaction name, sent as ``args[0]``.
    args
        The transaction's arguments.
    transient
        Private data for the chaincode that is not recorded on the ledger.

    Returns
    -------
    bytes
        The exact bytes to sign and send as ``SignedProposal.proposal_bytes``.
    """
    header = common_pb2.Header(
        channel_header=_channel_header(context.tx_id, channel, chaincode),
        signature_header=context.signature_header(),
    )
    invocation = chaincode_proto.ChaincodeInvocationSpec(
        chaincode_spec=chaincode_proto.ChaincodeSpec(
            chaincode_id=chaincode_proto.ChaincodeID(name=chaincode),
            input=chaincode_proto.ChaincodeInput(args=encode_args([transaction, *args])),
        )
    )
    payload = proposal_pb2.ChaincodeProposalPayload(
        input=invocation.SerializeToString(), TransientMap=dict(transient or {})
    )
    proposal = proposal_pb2.Proposal(
        header=header.SerializeToString(), payload=payload.SerializeToString()
    )
    return bytes(proposal.SerializeToString())


def _channel_header(tx_id: str, channel: str, chaincode: str) -> bytes:
    extension = proposal_pb2.ChaincodeHeaderExtension(
        chaincode_id=chaincode_proto.ChaincodeID(name=chaincode)
    )
    header = common_pb2.ChannelHeader(
        type=common_pb2.ENDORSER_TRANSACTION,
        version=0,
        channel_id=channel,
        tx_id=tx_id,
        epoch=0,
        extension=extension.SerializeToString(),
    )
    # The peer does not check the timestamp, but chaincode reads it as the tx time: use now.
    now_ns = time.time_ns()
    header.timestamp.seconds = now_ns // 1_000_000_000
    header.timestamp.nanos = now_ns % 1_000_000_000
    return bytes(header.SerializeToString())


def sign_proposal(proposal_bytes: bytes, signer: Signer) -> Any:
    """A ``peer.SignedProposal`` over exactly ``proposal_bytes``."""
    return proposal_pb2.SignedProposal(
        proposal_bytes=proposal_bytes, signature=signer.sign(proposal_bytes)
    )


@dataclass(frozen=True)
class ParsedProposal:
    """What a proposal says, read back from its bytes (used to check what was built)."""

    tx_id: str
    channel: str
    header_type: int
    chaincode: str
    transaction: str
    args: tuple[bytes, ...]
    creator: bytes
    nonce: bytes
    timestamp_seconds: int


def parse_proposal(proposal_bytes: bytes) -> ParsedProposal:
    """Decode a serialized ``Proposal`` into the fields a peer looks at."""
    proposal = proposal_pb2.Proposal.FromString(proposal_bytes)
    header = common_pb2.Header.FromString(proposal.header)
    channel_header = common_pb2.ChannelHeader.FromString(header.channel_header)
    signature_header = common_pb2.SignatureHeader.FromString(header.signature_header)
    payload = proposal_pb2.ChaincodeProposalPayload.FromString(proposal.payload)
    invocation = chaincode_proto.ChaincodeInvocationSpec.FromString(payload.input)
    args = tuple(bytes(arg) for arg in invocation.chaincode_spec.input.args)
    if not args:
        raise LedgerDataError("proposal has no transaction name", "args[0] must name it")
    return ParsedProposal(
        tx_id=str(channel_header.tx_id),
        channel=str(channel_header.channel_id),
        header_type=int(channel_header.type),
        chaincode=str(invocation.chaincode_spec.chaincode_id.name),
        transaction=args[0].decode("utf-8"),
        args=args[1:],
        creator=bytes(signature_header.creator),
        nonce=bytes(signature_header.nonce),
        timestamp_seconds=int(channel_header.timestamp.seconds),
    )


def result_from_envelope(envelope: Any) -> bytes:
    """The chaincode response payload carried in a prepared transaction ``common.Envelope``.

    Path: Payload.data -> Transaction.actions[*].payload -> ChaincodeActionPayload.action
    .proposal_response_payload -> ProposalResponsePayload.extension -> ChaincodeAction.response.
    """
    try:
        payload = common_pb2.Payload.FromString(envelope.payload)
        transaction = transaction_pb2.Transaction.FromString(payload.data)
        for action in transaction.actions:
            action_payload = transaction_pb2.ChaincodeActionPayload.FromString(action.payload)
            response_payload = proposal_response_pb2.ProposalResponsePayload.FromString(
                action_payload.action.proposal_response_payload
            )
            chaincode_action = proposal_pb2.ChaincodeAction.FromString(response_payload.extension)
            return bytes(chaincode_action.response.payload)
    except Exception as error:  # protobuf raises DecodeError and friends
        raise LedgerDataError(
            f"the prepared transaction could not be parsed: {error}",
            "the peer's Gateway answer is malformed; check the peer version (2.4.4+)",
        ) from error
    raise LedgerDataError(
        "the prepared transaction has no actions", "the peer's Gateway answer is malformed"
    )
