"""Wire formats the fake peer Gateway produces: gRPC status details, prepared transactions.

Kept apart from the servicer so each stays readable; the layout mirrors what a Fabric 2.5 peer's
Gateway assembles (one endorsement, the proposal's own header, transient data removed).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import grpc
from google.rpc import status_pb2

from fedlora.ledger._protos import (
    chaincode_event_pb2,
    chaincode_pb2,
    common_pb2,
    gateway_pb2,
    proposal_pb2,
    proposal_response_pb2,
    transaction_pb2,
)


@dataclass(frozen=True)
class Outcome:
    """What the chaincode stand-in answers; an event is set like ``stub.SetEvent``."""

    payload: bytes = b""
    status: int = 200
    message: str = ""
    event: tuple[str, bytes] | None = None


@dataclass(frozen=True)
class Tx:
    tx_id: str
    chaincode: str
    event: tuple[str, bytes] | None
    payload: bytes


def rich_status(
    code: grpc.StatusCode, message: str, detail_rows: Sequence[tuple[str, str, str]]
) -> Any:
    """A ``google.rpc.Status`` with ``gateway.ErrorDetail`` entries (address, msp, text)."""
    status = status_pb2.Status(code=code.value[0], message=message)
    for address, msp_id, text in detail_rows:
        status.details.add().Pack(
            gateway_pb2.ErrorDetail(address=address, msp_id=msp_id, message=text)
        )
    return status


def encode_status(
    code: grpc.StatusCode, message: str, detail_rows: Sequence[tuple[str, str, str]]
) -> bytes:
    """Serialize :func:`rich_status`."""
    return bytes(rich_status(code, message, detail_rows).SerializeToString())


def block_events(block: list[tuple[Tx, str]], chaincode: str, skip_until: str | None) -> list[Any]:
    if skip_until is not None and all(tx.tx_id != skip_until for tx, _ in block):
        skip_until = None
    events = []
    for tx, code in block:
        if skip_until is not None:
            if tx.tx_id == skip_until:
                skip_until = None
            continue
        if code == "VALID" and tx.event is not None and tx.chaincode == chaincode:
            name, payload = tx.event
            events.append(
                chaincode_event_pb2.ChaincodeEvent(
                    chaincode_id=chaincode, tx_id=tx.tx_id, event_name=name, payload=payload
                )
            )
    return events


def prepared_payload(proposal: dict[str, Any], outcome: Outcome) -> bytes:
    """Lay out the transaction the way the peer's gateway assembles it (one endorsement)."""
    event = b""
    if outcome.event is not None:
        event = chaincode_event_pb2.ChaincodeEvent(
            chaincode_id=proposal["chaincode"],
            tx_id=proposal["tx_id"],
            event_name=outcome.event[0],
            payload=outcome.event[1],
        ).SerializeToString()
    action = proposal_pb2.ChaincodeAction(
        results=b"",
        events=event,
        response=proposal_response_pb2.Response(
            status=outcome.status, message=outcome.message, payload=outcome.payload
        ),
        chaincode_id=chaincode_pb2.ChaincodeID(name=proposal["chaincode"], version="1.0"),
    )
    response_payload = proposal_response_pb2.ProposalResponsePayload(
        proposal_hash=hashlib.sha256(proposal["proposal"].SerializeToString()).digest(),
        extension=action.SerializeToString(),
    )
    original = proposal_pb2.ChaincodeProposalPayload.FromString(proposal["proposal"].payload)
    original.ClearField("TransientMap")  # transient data never reaches the ledger
    action_payload = transaction_pb2.ChaincodeActionPayload(
        chaincode_proposal_payload=original.SerializeToString(),
        action=transaction_pb2.ChaincodeEndorsedAction(
            proposal_response_payload=response_payload.SerializeToString(),
            endorsements=[
                proposal_response_pb2.Endorsement(endorser=b"peer0", signature=b"\x30\x00")
            ],
        ),
    )
    transaction = transaction_pb2.Transaction(
        actions=[
            transaction_pb2.TransactionAction(
                header=proposal["signature_header"], payload=action_payload.SerializeToString()
            )
        ]
    )
    return bytes(
        common_pb2.Payload(
            header=common_pb2.Header.FromString(proposal["header"]),
            data=transaction.SerializeToString(),
        ).SerializeToString()
    )
