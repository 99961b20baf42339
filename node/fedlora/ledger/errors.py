"""Typed errors of the Gateway client, one per phase, decoded the way a Fabric 2.5 peer sends them.

A failing Gateway call is a gRPC status whose trailing metadata ``grpc-status-details-bin``
holds a ``google.rpc.Status`` (read with grpcio-status); its ``details`` are ``Any`` messages
wrapping ``gateway.ErrorDetail {address, msp_id, message}``, one per endorser or orderer that
failed. For an endorsement the useful text (the chaincode's own message) is only in those details.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import grpc
from google.protobuf.message import DecodeError  # type: ignore[import-untyped]
from grpc_status import rpc_status  # type: ignore[import-untyped]

from fedlora.errors import FedloraError
from fedlora.ledger._protos import gateway_pb2

# "chaincode response 500, [NOT_PARTICIPANT] node ..." (endorse/evaluate error details).
_CHAINCODE_RESPONSE = re.compile(r"chaincode response (\d+), (.*)", re.DOTALL)
_FAILURE_PREFIX = re.compile(r"transaction returned with failure: (.*)", re.DOTALL)
_CODE_PREFIX = re.compile(r"\[([A-Z][A-Z0-9_]*)\]")


@dataclass(frozen=True)
class ErrorDetail:
    """One failing endpoint's report: its address, its org's MSP id and what it said."""

    address: str
    msp_id: str
    message: str


@dataclass(frozen=True)
class ChaincodeError:
    """The chaincode's own rejection inside a Gateway error.

    Attributes
    ----------
    code
        The stable ``[CODE]`` prefix of the contract's message without brackets (e.g.
        ``NOT_PARTICIPANT``), or ``None`` if the message has none.
    message
        The chaincode's message as it wrote it, prefix included.
    status
        The chaincode response status (500 for a returned error), when the peer reported it.
    """

    code: str | None
    message: str
    status: int | None


class LedgerError(FedloraError):
    """Any failure talking to the ledger."""

    def __init__(
        self,
        what: str,
        hint: str = "",
        *,
        grpc_code: grpc.StatusCode | None = None,
        details: tuple[ErrorDetail, ...] = (),
        tx_id: str | None = None,
    ) -> None:
        super().__init__(what, hint)
        self.grpc_code = grpc_code
        self.details = details
        self.tx_id = tx_id


class GatewayError(LedgerError):
    """A Gateway call failed with a gRPC status; see the phase-specific subclasses."""

    phase = "gateway call"

    def __init__(
        self,
        operation: str,
        grpc_code: grpc.StatusCode,
        grpc_message: str,
        details: tuple[ErrorDetail, ...] = (),
        tx_id: str | None = None,
    ) -> None:
        self.operation = operation
        self.grpc_message = grpc_message
        self.chaincode = chaincode_error_from(details, grpc_message)
        summary = self.chaincode.message if self.chaincode else _summary(grpc_message, details)
        super().__init__(
            f"{self.phase} of {operation} failed ({grpc_code.name}): {_one_line(summary)}",
            _hint(grpc_code, self.chaincode),
            grpc_code=grpc_code,
            details=details,
            tx_id=tx_id,
        )

    @property
    def code(self) -> grpc.StatusCode:
        """The gRPC status code the peer returned."""
        assert self.grpc_code is not None  # always set by __init__
        return self.grpc_code

    @classmethod
    def from_rpc_error(
        cls, operation: str, error: grpc.RpcError, tx_id: str | None = None
    ) -> GatewayError:
        """Build this error type from a raised ``grpc.RpcError`` (a ``grpc.Call``)."""
        call: grpc.Call = error  # type: ignore[assignment]
        code = call.code() or grpc.StatusCode.UNKNOWN
        message = call.details() or ""
        return cls(operation, code, message, error_details(call), tx_id)


class EvaluateError(GatewayError):
    """Evaluate (a query) failed."""

    phase = "evaluate"


class EndorseError(GatewayError):
    """Endorse failed: nothing was sent to the orderer."""

    phase = "endorsement"


class SubmitError(GatewayError):
    """Submit to the orderer failed: the transaction may or may not have been ordered."""

    phase = "submit"


class CommitStatusError(GatewayError):
    """Waiting for the commit status failed (often a timeout): the outcome is unknown."""

    phase = "commit status"


class ChaincodeEventsError(GatewayError):
    """The chaincode event stream failed with an error that is not worth reconnecting for."""

    phase = "chaincode events"


class CommitError(LedgerError):
    """The transaction was ordered but committed as invalid (a validation code other than VALID).

    Attributes
    ----------
    code
        The numeric ``TxValidationCode``.
    code_name
        Its name, e.g. ``MVCC_READ_CONFLICT`` or ``ENDORSEMENT_POLICY_FAILURE``.
    block_number
        The block that holds the invalid transaction.
    """

    def __init__(
        self, operation: str, tx_id: str, code: int, code_name: str, block_number: int
    ) -> None:
        super().__init__(
            f"transaction {tx_id} ({operation}) committed as invalid: {code_name} "
            f"in block {block_number}",
            "it changed nothing on the ledger; submit it again (a new transaction)",
            tx_id=tx_id,
        )
        self.operation = operation
        self.code = code
        self.code_name = code_name
        self.block_number = block_number


class LedgerDataError(LedgerError):
    """The ledger answered with data that does not match the agreed contract API."""


def chaincode_error_from(
    details: tuple[ErrorDetail, ...], grpc_message: str
) -> ChaincodeError | None:
    """Find the chaincode's own error in the error details (or, failing that, the status text)."""
    for text in [detail.message for detail in details] + [grpc_message]:
        status: int | None = None
        response = _CHAINCODE_RESPONSE.search(text)
        if response:
            status, text = int(response.group(1)), response.group(2)
        else:
            failure = _FAILURE_PREFIX.search(text)
            if failure is None:
                continue
            text = failure.group(1)
        prefix = _CODE_PREFIX.search(text)
        if prefix:
            text = text[prefix.start() :]
            return ChaincodeError(code=prefix.group(1), message=text.strip(), status=status)
        return ChaincodeError(code=None, message=text.strip(), status=status)
    return None


def error_details(call: grpc.Call) -> tuple[ErrorDetail, ...]:
    """Decode the ``gateway.ErrorDetail`` entries of a failed call's status (may be none)."""
    try:
        status = rpc_status.from_call(call)
    except DecodeError:
        raise LedgerDataError(
            "truncated or malformed gRPC status details",
            "the peer sent something that is not a google.rpc.Status",
        ) from None
    except ValueError as error:  # the status in the metadata is not the call's own
        raise LedgerDataError(
            f"inconsistent gRPC status details: {error}", "the peer's reply is not Fabric's"
        ) from None
    found: list[ErrorDetail] = []
    for packed in status.details if status is not None else ():
        if not packed.Is(gateway_pb2.ErrorDetail.DESCRIPTOR):
            continue  # a standard google.rpc detail; Fabric sends none
        detail = gateway_pb2.ErrorDetail()
        packed.Unpack(detail)
        found.append(ErrorDetail(str(detail.address), str(detail.msp_id), str(detail.message)))
    return tuple(found)


def _summary(grpc_message: str, details: tuple[ErrorDetail, ...]) -> str:
    if not details:
        return grpc_message
    reports = "; ".join(f"{d.msp_id or d.address}: {d.message}" for d in details)
    return f"{grpc_message} [{reports}]"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _hint(code: grpc.StatusCode, chaincode: ChaincodeError | None) -> str:
    if chaincode is not None:
        return "the contract refused the request; fix what its message names and try again"
    return {
        grpc.StatusCode.UNAVAILABLE: (
            "check that the peer is running at that address and that the TLS CA is its org's"
        ),
        grpc.StatusCode.DEADLINE_EXCEEDED: "the peer did not answer in time; try again later",
        grpc.StatusCode.FAILED_PRECONDITION: (
            "the channel or chaincode is not ready (or not deployed); wait and try again"
        ),
        grpc.StatusCode.RESOURCE_EXHAUSTED: "the message is too large for the peer or client",
    }.get(code, "see the peer's log for the cause")
